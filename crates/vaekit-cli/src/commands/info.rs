use anyhow::Result;
use vaekit::info::inspect;

use super::say;
use crate::cli::InfoArgs;

pub fn run(args: &InfoArgs) -> Result<()> {
    let path = std::path::Path::new(&args.target);
    if vaekit::text::run::is_text_run(path) {
        return super::text::info(path, args.json);
    }
    let info = inspect(&args.target, &args.source.load_options())?;
    if args.json {
        return say(serde_json::to_string_pretty(&info)?);
    }
    say(info.to_string().trim_end())
}
