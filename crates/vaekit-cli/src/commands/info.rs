use anyhow::Result;
use vaekit::info::inspect;

use super::say;
use crate::cli::InfoArgs;

pub fn run(args: &InfoArgs) -> Result<()> {
    let info = inspect(&args.target, &args.source.load_options())?;
    if args.json {
        return say(serde_json::to_string_pretty(&info)?);
    }
    say(info.to_string().trim_end())
}
