//! Bounded fuzzing of every parser of user files: thousands of random
//! mutations of valid files (bit flips, byte changes, truncations, inserted
//! bytes, huge numbers written over header fields), each of which must give
//! an error or a valid result, never a panic, an abort, or an allocation
//! past [`ALLOCATION_LIMIT`] (this binary's allocator refuses those, which
//! aborts the process: the test fails loudly).
//!
//! `VAEKIT_FUZZ_ITERATIONS` sets the mutations per parser (default
//! [`DEFAULT_ITERATIONS`], about half a minute in all in a test build) and
//! `VAEKIT_FUZZ_SEED` the seed; `bench/fuzz` runs it for as long as asked.
//! A failure names the parser, the seed and the iteration, and keeps the
//! file that broke it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vaekit::burn::tensor::Device;
use vaekit::compress::{Container, compress_dataset, decompress_dataset};
use vaekit::data::{DataKind, Format, LoadOptions, load};
use vaekit::info::inspect;
use vaekit::run::{Run, Weights, files};
use vaekit::settings::TrainSettings;
use vaekit::train::{Silent, TrainRequest, TrainState, train};

/// The largest single allocation this test binary allows: far above what
/// any of these small files needs, far below what a size read from a
/// corrupt header would ask.
const ALLOCATION_LIMIT: usize = 1 << 30;
const DEFAULT_ITERATIONS: usize = 1500;

/// The system allocator, refusing single requests above [`ALLOCATION_LIMIT`].
struct Limited;

// SAFETY: every call is passed to the system allocator unchanged, or
// refused with a null pointer, which GlobalAlloc allows.
unsafe impl GlobalAlloc for Limited {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_LIMIT {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_LIMIT {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > ALLOCATION_LIMIT {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Limited = Limited;

fn iterations() -> usize {
    std::env::var("VAEKIT_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ITERATIONS)
}

fn seed() -> u64 {
    std::env::var("VAEKIT_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Numbers a corrupt header field likely holds.
const HUGE: [u64; 6] = [
    u32::MAX as u64,
    i32::MAX as u64,
    1 << 31,
    u64::MAX,
    i64::MAX as u64,
    1 << 40,
];

/// One random change to `bytes`.
fn mutate(bytes: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    let len = bytes.len();
    if len == 0 {
        bytes.push(rng.random());
        return;
    }
    match rng.random_range(0..7) {
        // Flip a few bits.
        0 => {
            for _ in 0..rng.random_range(1..=8) {
                let i = rng.random_range(0..len);
                bytes[i] ^= 1 << rng.random_range(0..8);
            }
        }
        // Set a byte to an edge value or a random one.
        1 => {
            let i = rng.random_range(0..len);
            bytes[i] = [0, 0xff, 0x7f, 0x80, b'9', b'-', b'"', b'\n'][rng.random_range(0..8)];
        }
        2 => {
            let i = rng.random_range(0..len);
            bytes[i] = rng.random();
        }
        // Cut the file short.
        3 => bytes.truncate(rng.random_range(0..len)),
        // Insert random bytes.
        4 => {
            let i = rng.random_range(0..=len);
            let extra: Vec<u8> = (0..rng.random_range(1..16)).map(|_| rng.random()).collect();
            bytes.splice(i..i, extra);
        }
        // A huge number over 4 or 8 bytes, in either byte order, mostly in
        // the header (the first 128 bytes).
        5 => {
            let value = HUGE[rng.random_range(0..HUGE.len())];
            let width = if rng.random() { 4 } else { 8 };
            let at = rng.random_range(0..len.min(128));
            let raw = match (width, rng.random::<bool>()) {
                (4, true) => (value as u32).to_be_bytes().to_vec(),
                (4, false) => (value as u32).to_le_bytes().to_vec(),
                (_, true) => value.to_be_bytes().to_vec(),
                (_, false) => value.to_le_bytes().to_vec(),
            };
            for (k, b) in raw.into_iter().enumerate() {
                if let Some(slot) = bytes.get_mut(at + k) {
                    *slot = b;
                }
            }
        }
        // A large digit string where text is (a header's shape, a cell).
        _ => {
            let i = rng.random_range(0..=len);
            let digits = ["99999999999999999999", "4294967296", "-1", "1e308", "NaN"];
            bytes.splice(i..i, digits[rng.random_range(0..digits.len())].bytes());
        }
    }
}

/// Runs `parse` on `iterations()` mutations of `valid` (each written to
/// `path` first, with one to four changes); fails naming the iteration
/// that panicked, and keeps its file beside `path` as `*.crash`. `parse`
/// says whether the file was read as valid, which the summary counts (a
/// share of valid results shows the mutations get past the first checks).
fn fuzz(name: &str, valid: &[u8], path: &Path, parse: impl Fn(&Path) -> bool) {
    let n = iterations();
    let mut rng = ChaCha8Rng::seed_from_u64(seed() ^ fnv(name));
    // The valid file itself must parse.
    std::fs::write(path, valid).unwrap();
    assert!(parse(path), "{name}: the valid file does not parse");
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    let mut accepted = 0;
    for i in 0..n {
        let mut bytes = valid.to_vec();
        for _ in 0..rng.random_range(1..=4) {
            mutate(&mut bytes, &mut rng);
        }
        std::fs::write(path, &bytes).unwrap();
        match catch_unwind(AssertUnwindSafe(|| parse(path))) {
            Ok(valid) => accepted += usize::from(valid),
            Err(_) => {
                let kept = path.with_extension(format!("crash-{i}"));
                std::fs::write(&kept, &bytes).unwrap();
                failures.push(format!("iteration {i}: kept as {}", kept.display()));
            }
        }
    }
    std::panic::set_hook(quiet);
    assert!(
        failures.is_empty(),
        "{name}: {} of {n} mutations panicked (seed {}):\n{}",
        failures.len(),
        seed(),
        failures.join("\n")
    );
    eprintln!("{name}: {n} mutations, every one an error or a valid result ({accepted} valid)");
}

/// A stable hash of a name, so that each parser has its own sequence.
fn fnv(name: &str) -> u64 {
    name.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// Loads `path` as `format` (None: detected), ignoring the outcome.
fn loads(format: Option<Format>) -> impl Fn(&Path) -> bool {
    move |path: &Path| {
        let options = LoadOptions {
            format,
            ..LoadOptions::default()
        };
        load(&path.to_string_lossy(), &options).is_ok()
    }
}

fn idx_images(n: usize) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, 3];
    for d in [n as u32, 8, 8] {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend((0..n * 64).map(|i| (i * 37 % 256) as u8));
    bytes
}

fn npy(descr: &str, shape: &str, payload: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

#[test]
fn idx_files() {
    let dir = tempfile::tempdir().unwrap();
    fuzz(
        "idx",
        &idx_images(6),
        &dir.path().join("x.idx"),
        loads(Some(Format::Idx)),
    );
    // A labels file, read with the images it labels.
    let images = dir.path().join("images.idx");
    std::fs::write(&images, idx_images(6)).unwrap();
    let labels: Vec<u8> = [0u8, 0, 8, 1, 0, 0, 0, 6, 1, 2, 3, 4, 5, 6].to_vec();
    fuzz("idx labels", &labels, &dir.path().join("y.idx"), |path| {
        let options = LoadOptions {
            labels: Some(path.to_path_buf()),
            ..LoadOptions::default()
        };
        load(&images.to_string_lossy(), &options).is_ok()
    });
}

#[test]
fn npy_files() {
    let dir = tempfile::tempdir().unwrap();
    let floats: Vec<u8> = (0..40)
        .flat_map(|i| (i as f32 / 40.0).to_le_bytes())
        .collect();
    fuzz(
        "npy f4",
        &npy("<f4", "(5, 8)", &floats),
        &dir.path().join("a.npy"),
        loads(None),
    );
    let pixels: Vec<u8> = (0..3 * 64).map(|i| (i * 7 % 256) as u8).collect();
    let images = npy("|u1", "(3, 8, 8)", &pixels);
    fuzz(
        "npy u1",
        &images,
        &dir.path().join("b.npy"),
        loads(Some(Format::Npy)),
    );
}

#[test]
fn csv_tables() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = String::from("species,island,bill_mm,flipper_mm,sex,year\n");
    for i in 0..24 {
        let species = ["Adelie", "Gentoo", "\"Chin, strap\""][i % 3];
        let sex = ["male", "female", "NA"][i % 3 + usize::from(i % 5 == 0) * (2 - i % 3)];
        let bill = if i % 7 == 3 {
            "NA".to_string()
        } else {
            format!("{:.1}", 35.0 + i as f64 * 0.7)
        };
        table.push_str(&format!(
            "{species},Biscoe,{bill},{},{sex},{}\n",
            180 + i,
            2007 + i % 3
        ));
    }
    fuzz(
        "csv typed",
        table.as_bytes(),
        &dir.path().join("t.csv"),
        loads(None),
    );
    // A --column-types file, read with the table it types.
    let typed = dir.path().join("typed.csv");
    std::fs::write(&typed, &table).unwrap();
    let types = "species=categorical\nbill_mm=real\nflipper_mm=count\nyear=categorical\n";
    fuzz(
        "column types file",
        types.as_bytes(),
        &dir.path().join("types.txt"),
        |path| {
            let mut options = LoadOptions::default();
            options.columns.column_types = Some(path.to_string_lossy().into_owned());
            load(&typed.to_string_lossy(), &options).is_ok()
        },
    );
    let numbers: String = (0..30)
        .map(|i| format!("{i};{}.5;{}\n", i * 2, i % 4))
        .collect();
    fuzz(
        "csv numbers",
        numbers.as_bytes(),
        &dir.path().join("n.csv"),
        loads(Some(Format::Csv)),
    );
}

#[test]
fn image_folders() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("images");
    std::fs::create_dir(&folder).unwrap();
    for k in 0..3 {
        let img = image::GrayImage::from_fn(8, 8, |x, y| image::Luma([(x * 30 + y * k * 5) as u8]));
        img.save(folder.join(format!("{k}.png"))).unwrap();
    }
    let valid = std::fs::read(folder.join("0.png")).unwrap();
    let parse = |_: &Path| loads(Some(Format::Images))(&folder);
    fuzz("png in a folder", &valid, &folder.join("0.png"), parse);
}

#[test]
fn settings_files() {
    let dir = tempfile::tempdir().unwrap();
    let valid = "data = \"digits\"\nhidden = [64, 32]\nlatent = 4\nepochs = 3\nbatch-size = 50\n\
                 lr = 0.002\nbeta = 1.5\nkl-warmup = 2\nprior = \"vamp\"\npseudo-inputs = 20\n\
                 max-time = \"1h\"\nearly-stop = 3\nmin-delta = 0.1\nseed = 7\n";
    let digits = DataKind::Image {
        channels: 1,
        height: 8,
        width: 8,
    };
    fuzz(
        "settings toml",
        valid.as_bytes(),
        &dir.path().join("s.toml"),
        |path| {
            let Ok(settings) = TrainSettings::from_toml_file(path) else {
                return false;
            };
            let Ok(resolved) = settings.resolve(&digits) else {
                return false;
            };
            resolved
                .model_config(&digits)
                .is_ok_and(|c| c.validate().is_ok())
        },
    );
}

#[test]
fn text_corpora() {
    let dir = tempfile::tempdir().unwrap();
    let valid = "the cat sat on the mat\na dog ran\n\"quoted\", text\n".repeat(5);
    fuzz(
        "text corpus",
        valid.as_bytes(),
        &dir.path().join("c.txt"),
        |path| vaekit::text::corpus::read_sentences(path, None).is_ok(),
    );
}

/// A small trained run on the digits, made once per test that needs it.
fn small_run(dir: &Path) -> PathBuf {
    let out = dir.join("run");
    let settings = TrainSettings {
        data: Some("digits".into()),
        hidden: Some(vec![8]),
        latent: Some(2),
        epochs: Some(1),
        limit: Some(200),
        batch_size: Some(100),
        ..TrainSettings::default()
    };
    let request = TrainRequest {
        settings,
        out: out.clone(),
        resume: false,
        device: Device::flex(),
    };
    train(request, &mut Silent).unwrap();
    out
}

/// A copy of the run in `run` at `to`, whose file `name` is the one fuzzed.
fn copy_run(run: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(run).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn run_directories() {
    let dir = tempfile::tempdir().unwrap();
    let run = small_run(dir.path());
    let work = dir.path().join("work");
    copy_run(&run, &work);
    let device = Device::flex();
    let open_and_load = |dir: &Path| {
        let loaded = Run::open(dir).is_ok_and(|run| run.load_model(Weights::Last, &device).is_ok());
        let shown = inspect(&dir.to_string_lossy(), &LoadOptions::default()).is_ok();
        loaded && shown
    };
    for name in [files::CONFIG, files::LAST, files::METRICS] {
        let valid = std::fs::read(run.join(name)).unwrap();
        fuzz(name, &valid, &work.join(name), |_| open_and_load(&work));
        std::fs::write(work.join(name), &valid).unwrap();
    }
}

#[test]
fn checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let run = small_run(dir.path());
    let valid = std::fs::read(run.join(files::CHECKPOINT)).unwrap();
    let work = dir.path().join("work");
    copy_run(&run, &work);
    fuzz(
        "checkpoint",
        &valid,
        &work.join(files::CHECKPOINT),
        |path| vaekit::run::load_checkpoint::<TrainState>(path).is_ok(),
    );
    // Whole resumes of mutated checkpoints (weights, Adam's moments, the
    // state): fewer, as each trains a step.
    let rounds = (iterations() / 10).max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed() ^ fnv("resume"));
    let resume_settings = TrainSettings {
        epochs: Some(2),
        ..TrainSettings::default()
    };
    let mut failures = Vec::new();
    for i in 0..rounds {
        let _ = std::fs::remove_dir_all(&work);
        copy_run(&run, &work);
        let mut bytes = valid.clone();
        mutate(&mut bytes, &mut rng);
        std::fs::write(work.join(files::CHECKPOINT), &bytes).unwrap();
        let request = TrainRequest {
            settings: resume_settings.clone(),
            out: work.clone(),
            resume: true,
            device: Device::flex(),
        };
        if catch_unwind(AssertUnwindSafe(|| train(request, &mut Silent))).is_err() {
            failures.push(i);
        }
    }
    assert!(
        failures.is_empty(),
        "resumes of mutated checkpoints panicked: {failures:?}"
    );
}

#[test]
fn compressed_files() {
    let dir = tempfile::tempdir().unwrap();
    let run = Run::open(&small_run(dir.path())).unwrap();
    let model = run.load_model(Weights::Best, &Device::flex()).unwrap();
    let data = run.prepare_data(None).unwrap();
    let test = data.test.as_ref().unwrap();
    let few = test.subset(&(0..20).collect::<Vec<_>>());
    let made = compress_dataset(&model, &few, Container::Npy, Some(0), 1).unwrap();
    fuzz("vkz", &made.bytes, &dir.path().join("x.vkz"), |path| {
        let bytes = std::fs::read(path).unwrap();
        decompress_dataset(&model, &bytes).is_ok()
    });
}
