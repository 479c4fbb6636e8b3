//! When a run stops before its last epoch (`--early-stop`, `--min-delta`,
//! `--max-time`), and the CSV delimiter flag's values.

use std::time::Duration;

use super::TrainSettings;
use crate::error::{Error, Result};

/// The stopping rules of a run, checked and parsed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stopping {
    /// Epochs without a validation -ELBO better by more than `min_delta`
    /// after which the run stops.
    pub patience: Option<usize>,
    /// Nats a validation -ELBO must improve on the best by to count.
    pub min_delta: f64,
    /// The most training time (summed over every session of the run).
    pub max_time: Option<Duration>,
}

/// Parses a duration: seconds as a plain number (`3600`), or a number with
/// units (`90m`, `2h 30m`, `1h30m`, `45s`, `1day`).
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let bad =
        || format!("'{text}' is not a duration; write it such as 45m, 2h, 1h30m or 3600 (seconds)");
    let text = text.trim();
    let duration = match text.parse::<f64>() {
        Ok(seconds) if (0.0..1e12).contains(&seconds) => Duration::from_secs_f64(seconds),
        Ok(_) => return Err(bad()),
        Err(_) => humantime::parse_duration(text).map_err(|_| bad())?,
    };
    if duration.is_zero() {
        return Err(format!(
            "'{text}' is no time at all; give a positive duration such as 2h"
        ));
    }
    Ok(duration)
}

/// Parses a CSV field delimiter: one ASCII character, or a name (`tab`,
/// `comma`, `semicolon`, `pipe`, `space`).
pub fn parse_delimiter(text: &str) -> std::result::Result<char, String> {
    let named = match text.to_ascii_lowercase().as_str() {
        "tab" | "\\t" => Some('\t'),
        "comma" => Some(','),
        "semicolon" => Some(';'),
        "pipe" => Some('|'),
        "space" => Some(' '),
        _ => None,
    };
    let mut chars = text.chars();
    let c = match (named, chars.next(), chars.next()) {
        (Some(c), _, _) => c,
        (None, Some(c), None) => c,
        _ => {
            return Err(format!(
                "'{text}' is not a delimiter; give one character such as ';' or a name: tab, comma, semicolon, pipe, space"
            ));
        }
    };
    if !c.is_ascii() || c.is_ascii_alphanumeric() || matches!(c, '"' | '\n' | '\r' | '.' | '-') {
        return Err(format!(
            "'{text}' cannot separate fields (it is not ASCII, or it appears in numbers or quotes); give one such as ',', ';', '|' or tab"
        ));
    }
    Ok(c)
}

impl TrainSettings {
    /// The stopping rules these (checked) settings give.
    pub fn stopping(&self) -> Stopping {
        Stopping {
            patience: self.early_stop,
            min_delta: self.min_delta.unwrap_or(0.0),
            max_time: self
                .max_time
                .as_deref()
                .and_then(|t| parse_duration(t).ok()),
        }
    }

    pub(super) fn check_stopping(&self) -> Result<()> {
        if self.early_stop == Some(0) {
            return Err(Error::setting(
                "--early-stop",
                "0 epochs of patience would stop before any epoch could improve; give at least 1, such as 10",
            ));
        }
        if let Some(delta) = self.min_delta {
            if !delta.is_finite() || delta < 0.0 {
                return Err(Error::setting(
                    "--min-delta",
                    format!(
                        "{delta} is not a number >= 0 (nats of improvement that count as better)"
                    ),
                ));
            }
            if self.early_stop.is_none() {
                return Err(Error::setting(
                    "--min-delta",
                    "it says what counts as an improvement for --early-stop; add --early-stop PATIENCE or drop it",
                ));
            }
        }
        if let Some(text) = &self.max_time {
            parse_duration(text).map_err(|why| Error::setting("--max-time", why))?;
        }
        if let Some(c) = self.delimiter {
            parse_delimiter(&c.to_string()).map_err(|why| Error::setting("--delimiter", why))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_or_seconds() {
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2h 30m"), Ok(Duration::from_secs(9000)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        for bad in ["", "soon", "-3", "0", "0s", "1e400", "NaN"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn delimiters_by_character_or_name() {
        assert_eq!(parse_delimiter(";"), Ok(';'));
        assert_eq!(parse_delimiter("tab"), Ok('\t'));
        assert_eq!(parse_delimiter("\t"), Ok('\t'));
        assert_eq!(parse_delimiter("Semicolon"), Ok(';'));
        for bad in ["", ";;", "a", "7", "\"", ".", "é"] {
            assert!(parse_delimiter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stopping_settings_are_checked() {
        let with = |s: TrainSettings| s.check_stopping();
        assert!(
            with(TrainSettings {
                early_stop: Some(0),
                ..Default::default()
            })
            .is_err()
        );
        assert!(
            with(TrainSettings {
                min_delta: Some(0.1),
                ..Default::default()
            })
            .is_err()
        );
        assert!(
            with(TrainSettings {
                early_stop: Some(3),
                min_delta: Some(-1.0),
                ..Default::default()
            })
            .is_err()
        );
        assert!(
            with(TrainSettings {
                max_time: Some("later".into()),
                ..Default::default()
            })
            .is_err()
        );
        let good = TrainSettings {
            early_stop: Some(3),
            min_delta: Some(0.5),
            max_time: Some("1h".into()),
            ..Default::default()
        };
        assert!(with(good.clone()).is_ok());
        assert_eq!(
            good.stopping(),
            Stopping {
                patience: Some(3),
                min_delta: 0.5,
                max_time: Some(Duration::from_secs(3600)),
            }
        );
    }
}
