//! The `vaekit` binary on text: a sentence VAE and a language model trained
//! for real on a small generated corpus, every text command run on them,
//! bad text sources refused, and a short run on the shared WordNet corpus.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;
use common::{bad_input, ok};

/// Sentences from a small grammar (subject, verb, object, an optional
/// place), shuffled by a fixed linear congruential sequence: enough
/// structure that a model of it beats chance by far.
fn corpus(n: usize, seed: u64) -> String {
    let subjects = [
        "the cat",
        "a dog",
        "the old man",
        "my sister",
        "the children",
    ];
    let verbs = ["sees", "likes", "chased", "found", "wants"];
    let objects = [
        "the ball",
        "a red apple",
        "the small bird",
        "her book",
        "a song",
    ];
    let places = ["", " in the garden", " at home", " by the river"];
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = |k: usize| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 33) % k as u64) as usize
    };
    (0..n)
        .map(|_| {
            format!(
                "{} {} {}{} .\n",
                subjects[next(5)],
                verbs[next(5)],
                objects[next(5)],
                places[next(4)]
            )
        })
        .collect()
}

const SMALL: &[&str] = &[
    "--embed",
    "16",
    "--hidden",
    "32",
    "--latent",
    "4",
    "--batch-size",
    "32",
    "--epochs",
    "8",
    "--lr",
    "0.005",
    "--dropout",
    "0.1",
    "--kl-warmup",
    "2",
    "-q",
];

/// A folder with `g.train.txt`, `g.valid.txt` and `g.test.txt`, and a VAE
/// and a language model trained on them.
fn runs() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static RUNS: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    RUNS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("g.train.txt"), corpus(640, 1)).unwrap();
        std::fs::write(d.join("g.valid.txt"), corpus(64, 2)).unwrap();
        std::fs::write(d.join("g.test.txt"), corpus(48, 3)).unwrap();
        let mut vae = vec!["train", "--data", "g.train.txt", "--out", "vae"];
        vae.extend_from_slice(SMALL);
        ok(d, &vae);
        let mut lm = vec![
            "train",
            "--data",
            "g.train.txt",
            "--out",
            "lm",
            "--model",
            "lm",
        ];
        lm.extend_from_slice(SMALL);
        ok(d, &lm);
        let (vae, lm) = (d.join("vae"), d.join("lm"));
        (dir, vae, lm)
    })
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(dir, args)).expect("the command prints JSON")
}

fn num(v: &serde_json::Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"))
}

#[test]
fn a_sentence_vae_trains_and_validates_on_its_sibling_files() {
    let (dir, vae, _) = runs();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(vae.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["family"], "text");
    assert_eq!(config["data"]["val_sentences"], 64);
    assert_eq!(config["data"]["test_sentences"], 48);
    // The vocabulary: four special tokens, then the grammar's words, "the" first.
    let vocab = std::fs::read_to_string(vae.join("vocab.txt")).unwrap();
    let tokens: Vec<&str> = vocab.lines().collect();
    assert_eq!(&tokens[..5], ["<pad>", "<s>", "</s>", "<unk>", "the"]);
    let metrics = std::fs::read_to_string(vae.join("metrics.jsonl")).unwrap();
    let epochs: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(epochs.len(), 8);
    let first = num(&epochs[0]["val"], "neg_elbo_per_word");
    let last = num(&epochs[7]["val"], "neg_elbo_per_word");
    // A uniform guess is log 33 = 3.5 nats per word (29 words, 4 special
    // tokens); the grammar's own entropy about 0.9. It learns.
    assert!(last < first && last < 2.0, "{first} -> {last}");
    assert!(dir.path().join("vae/best.safetensors").is_file());
    let info = ok(dir.path(), &["info", "vae"]);
    assert!(
        info.contains("sentence VAE, z 4") && info.contains("640 training sentences"),
        "{info}"
    );
}

#[test]
fn an_lstm_with_a_bidirectional_encoder_trains_samples_and_decodes_by_beam() {
    let (dir, _, _) = runs();
    let d = dir.path();
    let mut args = vec![
        "train",
        "--data",
        "g.train.txt",
        "--out",
        "lstm",
        "--cell",
        "lstm",
        "--bidirectional",
    ];
    args.extend_from_slice(SMALL);
    ok(d, &args);
    let metrics = std::fs::read_to_string(d.join("lstm/metrics.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
    let nll = num(&last["val"], "neg_elbo_per_word");
    assert!(nll < 2.0, "{nll} nats per word (uniform: 3.5)");
    let info = ok(d, &["info", "lstm"]);
    assert!(
        info.contains("bidirectional encoder, LSTM hidden"),
        "{info}"
    );
    // Generation steps the LSTM's (h, c) states, beams reorder them.
    ok(
        d,
        &[
            "sample", "--run", "lstm", "--n", "4", "--beam", "3", "--out", "lstm.txt",
        ],
    );
    let lines = std::fs::read_to_string(d.join("lstm.txt")).unwrap();
    assert_eq!(lines.lines().count(), 4, "{lines}");
    ok(
        d,
        &[
            "reconstruct",
            "--run",
            "lstm",
            "--n",
            "3",
            "--out",
            "lstm-r.txt",
        ],
    );
    let refused = |flags: &[&str], needles: &[&str]| {
        let mut args = vec!["train", "--data", "g.train.txt", "--out", "x"];
        args.extend_from_slice(flags);
        bad_input(d, &args, needles);
    };
    refused(
        &["--model", "lm", "--bidirectional"],
        &["--model lm", "--bidirectional"],
    );
    refused(&["--cell", "rnn"], &["unknown cell 'rnn'"]);
    refused(&["--mu-batch-norm", "0"], &["--mu-batch-norm", "(0, 10]"]);
    refused(
        &["--model", "lm", "--mu-batch-norm", "0.7"],
        &["--model lm"],
    );
    refused(
        &["--model", "lm", "--aggressive"],
        &["--model lm", "--aggressive"],
    );
}

#[test]
fn aggressive_training_and_bn_vae_keep_the_latent_in_use() {
    let (dir, _, _) = runs();
    let d = dir.path();
    let epochs = |name: &str, flags: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec!["train", "--data", "g.train.txt", "--out", name];
        args.extend_from_slice(flags);
        args.extend_from_slice(SMALL);
        ok(d, &args);
        let metrics = std::fs::read_to_string(d.join(name).join("metrics.jsonl")).unwrap();
        metrics
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    // Aggressive updates run from the first epoch until the validation MI
    // stops rising, and never come back.
    let run = epochs("aggr", &["--aggressive"]);
    let flags: Vec<bool> = run
        .iter()
        .map(|e| e["aggressive"].as_bool().unwrap())
        .collect();
    assert!(flags[0], "{flags:?}");
    let first_off = flags.iter().position(|f| !f).unwrap_or(flags.len());
    assert!(flags[first_off..].iter().all(|f| !f), "{flags:?}");
    let last = &run.last().unwrap()["val"];
    assert!(num(last, "neg_elbo_per_word") < 2.0, "{last}");
    // BN-VAE with gamma 0.9 keeps each of the 4 dimensions' KL at least
    // 0.9^2 / 2 on average over the data, whatever the annealing does.
    let run = epochs("bn", &["--mu-batch-norm", "0.9", "--kl-anneal", "constant"]);
    let last = &run.last().unwrap()["val"];
    assert!(num(last, "kl") > 4.0 * 0.9 * 0.9 / 2.0 * 0.8, "{last}");
    assert_eq!(last["active_units"], 4, "{last}");
}

#[test]
fn eval_reports_the_iw_perplexity_kl_mutual_information_and_active_units() {
    let (dir, _, _) = runs();
    let d = dir.path();
    let r = json(d, &["eval", "--run", "vae", "--json", "--iw-samples", "50"]);
    assert_eq!(r["sentences"], 48);
    let (elbo, iw) = (num(&r, "neg_elbo"), num(&r, "iw_nll"));
    // The importance-weighted bound is tighter than the ELBO, never looser
    // by more than the noise of one draw.
    assert!(iw <= elbo + 0.5, "{iw} vs {elbo}");
    let words = num(&r, "words");
    let ppl = num(&r, "perplexity");
    assert!(
        (ppl - (iw * 48.0 / words).exp()).abs() < 1e-6 * ppl,
        "{ppl}"
    );
    assert!(num(&r, "kl") >= 0.0);
    assert!(r["active_units"].as_u64().unwrap() <= 4);
    assert!(num(&r, "mutual_information").is_finite());
    // The language model's likelihood is exact: its perplexity is its ELBO's.
    let lm = json(d, &["eval", "--run", "lm", "--json"]);
    assert!((num(&lm, "perplexity") - num(&lm, "elbo_perplexity")).abs() < 1e-9);
    assert!(lm["mutual_information"].is_null());
    let text = ok(d, &["eval", "--run", "vae", "--split", "val"]);
    assert!(
        text.contains("val: 64 sentences") && text.contains("active"),
        "{text}"
    );
}

#[test]
fn sample_reconstruct_interpolate_encode_and_score_write_their_files() {
    let (dir, _, _) = runs();
    let d = dir.path();
    let vocab = std::fs::read_to_string(d.join("vae/vocab.txt")).unwrap();
    let known: Vec<&str> = vocab.lines().collect();
    for (extra, name) in [
        (&[][..], "greedy.txt"),
        (&["--temperature", "0.8"][..], "warm.txt"),
        (&["--beam", "3"][..], "beam.txt"),
    ] {
        let mut args = vec!["sample", "--run", "vae", "--n", "6", "--out", name];
        args.extend_from_slice(extra);
        ok(d, &args);
        let lines = std::fs::read_to_string(d.join(name)).unwrap();
        assert_eq!(lines.lines().count(), 6, "{name}: {lines}");
        assert!(
            !lines.contains("<unk>") && !lines.contains("<s>"),
            "{name}: {lines}"
        );
        for word in lines.split_whitespace() {
            assert!(
                known.contains(&word),
                "{name}: '{word}' is not in the vocabulary"
            );
        }
    }
    ok(
        d,
        &["sample", "--run", "lm", "--n", "3", "--out", "lm.jsonl"],
    );
    let lm = std::fs::read_to_string(d.join("lm.jsonl")).unwrap();
    assert!(
        lm.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].is_string())
    );

    ok(
        d,
        &[
            "reconstruct",
            "--run",
            "vae",
            "--n",
            "5",
            "--out",
            "pairs.txt",
        ],
    );
    let pairs = std::fs::read_to_string(d.join("pairs.txt")).unwrap();
    let test: Vec<String> = std::fs::read_to_string(d.join("g.test.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    for (pair, line) in pairs.lines().zip(&test) {
        let (input, _) = pair.split_once('\t').expect("input<TAB>output");
        assert_eq!(input, line.as_str());
    }

    ok(
        d,
        &[
            "interpolate",
            "--run",
            "vae",
            "--from",
            "0",
            "--to",
            "1",
            "--steps",
            "4",
            "--out",
            "path.txt",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(d.join("path.txt"))
            .unwrap()
            .lines()
            .count(),
        5
    );

    ok(d, &["encode", "--run", "vae", "--out", "codes.csv"]);
    let codes = std::fs::read_to_string(d.join("codes.csv")).unwrap();
    assert_eq!(codes.lines().count(), 1 + 48);

    ok(d, &["score", "--run", "vae", "--out", "scores.csv"]);
    let scores = std::fs::read_to_string(d.join("scores.csv")).unwrap();
    assert_eq!(
        scores.lines().next(),
        Some("line,neg_elbo,neg_elbo_per_word,words")
    );
    assert_eq!(scores.lines().count(), 1 + 48);
    // A sentence of words the model never saw scores worse than the test ones.
    std::fs::write(d.join("odd.txt"), "river song the the by by red red\n").unwrap();
    let odd = json(d, &["score", "--run", "vae", "--data", "odd.txt", "--json"]);
    let normal = json(d, &["score", "--run", "vae", "--json"]);
    assert!(num(&odd, "mean_neg_elbo_per_word") > num(&normal, "mean_neg_elbo_per_word"));
}

#[test]
fn impute_fills_blanks_and_latent_maps_the_sentences() {
    let (dir, _, _) = runs();
    let d = dir.path();
    std::fs::write(
        d.join("blanks.txt"),
        "the cat _ the ball .\n_ dog likes a song at home .\n",
    )
    .unwrap();
    ok(
        d,
        &[
            "impute",
            "--run",
            "vae",
            "--data",
            "blanks.txt",
            "--out",
            "filled.txt",
        ],
    );
    let filled = std::fs::read_to_string(d.join("filled.txt")).unwrap();
    let lines: Vec<&str> = filled.lines().collect();
    assert_eq!(lines.len(), 2, "{filled}");
    assert!(!filled.contains('_'), "{filled}");
    // The words given are kept, in place.
    let first: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(
        (first.len(), first[0], first[1], first[3]),
        (6, "the", "cat", "the")
    );
    let r = json(
        d,
        &[
            "impute",
            "--run",
            "vae",
            "--evaluate",
            "--mask",
            "random:0.2",
            "--json",
        ],
    );
    assert!(num(&r, "hidden_words") > 20.0);
    // Filling from the context beats always guessing "the".
    assert!(
        num(&r, "accuracy") > num(&r, "most_frequent_word_accuracy"),
        "{r}"
    );

    ok(
        d,
        &[
            "latent", "--run", "vae", "--out", "map.png", "--coords", "map.csv",
        ],
    );
    let png = std::fs::read(d.join("map.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let coords = std::fs::read_to_string(d.join("map.csv")).unwrap();
    assert_eq!(coords.lines().count(), 1 + 48);
}

#[test]
fn text_commands_refuse_what_does_not_apply() {
    let (dir, _, _) = runs();
    let d = dir.path();
    bad_input(
        d,
        &["encode", "--run", "lm", "--out", "x.csv"],
        &["no latent code"],
    );
    bad_input(
        d,
        &["sample", "--run", "vae", "--out", "x.png"],
        &[".txt", ".jsonl"],
    );
    bad_input(
        d,
        &[
            "sample",
            "--run",
            "vae",
            "--out",
            "x.txt",
            "--temperature",
            "0",
        ],
        &["--temperature"],
    );
    bad_input(
        d,
        &[
            "sample",
            "--run",
            "vae",
            "--out",
            "x.txt",
            "--code-mixture",
            "5",
        ],
        &["--code-mixture", "image and table runs"],
    );
    bad_input(
        d,
        &[
            "interpolate",
            "--run",
            "vae",
            "--from",
            "0",
            "--to",
            "99",
            "--out",
            "x.txt",
        ],
        &["--to", "0 to 47"],
    );
    bad_input(
        d,
        &["latent", "--run", "vae", "--manifold", "x.png"],
        &["--manifold"],
    );
    bad_input(d, &["probe", "--run", "vae"], &["is a text run"]);
    bad_input(
        d,
        &[
            "impute",
            "--run",
            "vae",
            "--data",
            "g.test.txt",
            "--iterations",
            "0",
            "--out",
            "x.txt",
        ],
        &["--iterations"],
    );
    for name in ["x.txt", "x.png", "x.csv"] {
        assert!(!d.join(name).exists(), "{name} was written");
    }
}

#[test]
fn bad_text_sources_and_settings_are_refused_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, bytes: &[u8]| std::fs::write(d.join(name), bytes).unwrap();
    write("bin.txt", b"\x7fELF\x02\x01\x01\0\0\0\0");
    write("empty.txt", b"\n\n  \n");
    write("one.txt", "word\n".repeat(50).as_bytes());
    write("long.txt", "word ".repeat(220_000).as_bytes());
    write("ok.txt", corpus(50, 4).as_bytes());
    fn train<'a>(data: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut a = vec![
            "train", "--data", data, "--out", "run", "--epochs", "1", "-q",
        ];
        a.extend_from_slice(extra);
        a
    }
    bad_input(d, &train("bin.txt", &[]), &["bin.txt", "binary"]);
    bad_input(d, &train("empty.txt", &[]), &["empty.txt", "no sentence"]);
    bad_input(d, &train("one.txt", &[]), &["1 distinct token"]);
    bad_input(
        d,
        &train("long.txt", &[]),
        &["long.txt", "line 1 is 1100000 bytes"],
    );
    bad_input(
        d,
        &train("ok.txt", &["--arch", "conv"]),
        &["--arch", "text source"],
    );
    bad_input(
        d,
        &train("ok.txt", &["--model", "iwae"]),
        &["iwae", "--model lm"],
    );
    bad_input(
        d,
        &train("ok.txt", &["--word-dropout", "2"]),
        &["--word-dropout"],
    );
    bad_input(
        d,
        &train("ok.txt", &["--vocab-size", "3"]),
        &["--vocab-size"],
    );
    bad_input(d, &train("ok.txt", &["--hidden", "8,8"]), &["--hidden"]);
    bad_input(
        d,
        &["train", "--data", "digits", "--out", "run", "--model", "lm"],
        &["--model", "text source"],
    );
    assert!(!d.join("run").exists(), "a refused run left a folder");
    // --out must be new or empty, as for any run.
    std::fs::create_dir(d.join("full")).unwrap();
    write("full/notes.md", b"mine");
    bad_input(
        d,
        &[
            "train", "--data", "ok.txt", "--out", "full", "--epochs", "1", "-q",
        ],
        &["full", "not empty"],
    );
    assert_eq!(std::fs::read(d.join("full/notes.md")).unwrap(), b"mine");
}

#[test]
fn a_short_run_on_the_shared_wordnet_corpus() {
    let Some(train) = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/data/text/wordnet-examples.train.txt"))
        .find(|p| p.exists())
    else {
        eprintln!("skipped: ../shared/data/text/wordnet-examples.train.txt is absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = train.display().to_string();
    ok(
        d,
        &[
            "train",
            "--data",
            &train,
            "--out",
            "run",
            "--limit",
            "3000",
            "--embed",
            "32",
            "--hidden",
            "64",
            "--latent",
            "8",
            "--epochs",
            "1",
            "--vocab-size",
            "2000",
            "-q",
        ],
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("run/config.json")).unwrap()).unwrap();
    // The corpus's own validation and test files, as the data README lists them.
    assert_eq!(config["data"]["train_sentences"], 3000);
    assert_eq!(config["data"]["val_sentences"], 2500);
    assert_eq!(config["data"]["test_sentences"], 2500);
    assert_eq!(config["data"]["vocab"], 2000);
    let r = json(d, &["eval", "--run", "run", "--json", "--limit", "200"]);
    // Below a uniform guess over the vocabulary (log 2000 = 7.6 nats).
    assert!(num(&r, "neg_elbo_per_word") < 7.0, "{r}");
}

/// A text run's report: its sentences (samples, reconstructions, a
/// homotopy) and a map whose points carry their sentence; the language
/// model's has no map. Its explorer decodes points of the plane and
/// interpolations to sentences, and shows an example beside its decoding.
#[test]
fn a_text_run_has_a_report_and_an_explorer() {
    let (dir, vae, lm) = runs();
    let d = dir.path();
    let out = tempfile::tempdir().unwrap();
    let page = out.path().join("vae.html");
    let said = ok(
        d,
        &[
            "report",
            vae.to_str().unwrap(),
            "--out",
            page.to_str().unwrap(),
        ],
    );
    assert!(said.contains("48 examples on the map"), "{said}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("\"kind\":\"text\""),
        "the page's data says it is text"
    );
    for part in [
        "\"Samples\"",
        "\"Reconstructions\"",
        "\"Homotopy\"",
        "\"texts\":[\"",
        "\"legend\":\"length\"",
    ] {
        assert!(html.contains(part), "{part} is missing from the report");
    }
    let page = out.path().join("lm.html");
    ok(
        d,
        &[
            "report",
            lm.to_str().unwrap(),
            "--out",
            page.to_str().unwrap(),
        ],
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("\"x\":[]"), "the language model has no map");
    bad_input(
        d,
        &[
            "report",
            lm.to_str().unwrap(),
            "--out",
            "x.html",
            "--data",
            "g.test.txt",
        ],
        &["--data"],
    );
    let (child, url) = common::explore(d, vae.to_str().unwrap());
    let (status, body) = common::post(&url, "/api/decode", "{\"x\": 0.0, \"y\": 0.0}");
    assert_eq!(status, 200, "{body}");
    let decoded: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        decoded["decoded"]["text"][0]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    let (status, body) = common::get(&url, "/api/example?i=5");
    assert_eq!(status, 200, "{body}");
    let example: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(example["original"]["text"][0].as_str().is_some(), "{body}");
    assert!(
        example["ellipse"].is_array(),
        "a sentence's posterior is drawn: {body}"
    );
    let (status, body) = common::post(
        &url,
        "/api/interpolate",
        "{\"from\": 0, \"to\": 7, \"steps\": 5}",
    );
    assert_eq!(status, 200, "{body}");
    let path: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        path["decoded"]["text"].as_array().map(Vec::len),
        Some(5),
        "{body}"
    );
    assert!(common::interrupt(child).0.success());
    bad_input(
        d,
        &["explore", lm.to_str().unwrap(), "--port", "0"],
        &["language model"],
    );
}
