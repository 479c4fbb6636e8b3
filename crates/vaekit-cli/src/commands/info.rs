use anyhow::Result;
use vaekit::info::inspect;

use super::say;
use crate::cli::InfoArgs;

pub fn run(args: &InfoArgs) -> Result<()> {
    let path = std::path::Path::new(&args.target);
    if vaekit::text::run::is_text_run(path) {
        return super::text::info(path, args.json);
    }
    if path.is_file() && compressed(path) {
        let info = vaekit::compress::describe(&vaekit::io::read_file(path)?)?;
        return say(info.to_string().trim_end());
    }
    let info = inspect(&args.target, &args.source.load_options())?;
    if args.json {
        return say(serde_json::to_string_pretty(&info)?);
    }
    say(info.to_string().trim_end())
}

/// Whether the file at `path` begins like a `.vkz` file.
fn compressed(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|_| vaekit::compress::looks_compressed(&head))
}
