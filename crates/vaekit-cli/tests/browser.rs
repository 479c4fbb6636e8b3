//! `vaekit report` and `vaekit explore` in a real headless Chromium, driven
//! over WebDriver by chromedriver (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them): the pages draw the expected
//! points, show an example under the pointer, decode a clicked point,
//! interpolate between two picked ones and show a selected region; the
//! server answers bad requests with 4xx and keeps serving, serves two tabs
//! at once and stops cleanly on Ctrl-C. Where no browser can be had, the
//! tests say why and pass without running.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::ok;
use fantoccini::actions::{InputSource, MouseActions, PointerAction};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// A program on the PATH.
fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
    chromium: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// chromedriver, started, or None with the reason printed.
fn driver() -> Option<Driver> {
    let (Some(chromedriver), Some(chromium)) = (
        which(&["chromedriver"]),
        which(&["chromium", "chromium-browser", "google-chrome"]),
    ) else {
        println!(
            "skipped: no chromium and chromedriver on the PATH (apt-get install chromium chromium-driver; .ci/run installs them)"
        );
        return None;
    };
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let driver = Driver {
        child,
        port,
        chromium,
    };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            println!("skipped: chromedriver did not start listening within 20 s");
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(driver)
}

/// A browser session, or None with the reason printed (a Chromium that
/// cannot start here is no browser to test with).
async fn browser(driver: &Driver) -> Option<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": driver.chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .map_err(|e| println!("skipped: chromedriver could not start Chromium: {e}"))
        .ok()
}

/// Waits until `script` returns true in the page.
async fn wait_until(c: &Client, script: &str, what: &str) {
    let started = Instant::now();
    loop {
        let done = c.execute(&format!("return !!({script});"), vec![]).await;
        if matches!(done, Ok(serde_json::Value::Bool(true))) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "waited 30 s for {what} ({script})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn number(c: &Client, script: &str) -> f64 {
    c.execute(&format!("return {script};"), vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// The pointer moved to (x, y) of the viewport, and clicked there with `click`.
async fn pointer(c: &Client, x: f64, y: f64, click: bool) {
    let mut mouse = MouseActions::new("mouse".into()).then(PointerAction::MoveTo {
        duration: Some(Duration::from_millis(10)),
        x: x.round(),
        y: y.round(),
    });
    if click {
        mouse = mouse
            .then(PointerAction::Down { button: 0 })
            .then(PointerAction::Up { button: 0 });
    }
    c.perform_actions(mouse).await.expect("the pointer moves");
}

async fn pixel(c: &Client, script: &str) -> (f64, f64) {
    let at = c
        .execute(&format!("return {script};"), vec![])
        .await
        .unwrap();
    (at[0].as_f64().unwrap(), at[1].as_f64().unwrap())
}

fn train_digits(dir: &Path) {
    ok(
        dir,
        &[
            "train", "--data", "digits", "--out", "run", "--hidden", "64", "--latent", "4",
            "--epochs", "8", "-q",
        ],
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_report_draws_its_map_and_shows_an_example_under_the_pointer() {
    let Some(driver) = driver() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_digits(d);
    ok(d, &["report", "run", "--out", "report.html"]);
    let Some(c) = browser(&driver).await else {
        return;
    };
    let url = format!("file://{}", d.join("report.html").display());
    c.goto(&url).await.unwrap();
    wait_until(
        &c,
        "document.body.dataset.ready === '1'",
        "the report to draw",
    )
    .await;
    // 297 test digits on the map; the curves, KL and the map are canvases.
    assert_eq!(
        number(&c, "+document.querySelector('#map canvas').dataset.points").await,
        297.0
    );
    assert!(number(&c, "document.querySelectorAll('canvas').length").await >= 6.0);
    assert_eq!(
        number(&c, "document.querySelectorAll('#pictures img').length").await,
        3.0
    );
    let (x, y) = pixel(&c, "window.vaekitReport.pixelOf(5)").await;
    c.execute("document.querySelector('#map').scrollIntoView()", vec![])
        .await
        .unwrap();
    let (x2, y2) = pixel(&c, "window.vaekitReport.pixelOf(5)").await;
    assert!(x2.is_finite() && y2.is_finite(), "{x} {y}");
    pointer(&c, x2, y2, false).await;
    wait_until(
        &c,
        "document.querySelector('.tip .thumb')",
        "a thumbnail under the pointer",
    )
    .await;
    let shown = number(&c, "+document.querySelector('.tip .thumb').dataset.example").await;
    assert!(shown >= 0.0, "{shown}");
    c.close().await.unwrap();
}

#[test]
fn the_explorer_refuses_bad_requests_and_keeps_serving_until_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_digits(d);
    let (child, url) = common::explore(d, "run");
    assert_eq!(common::get(&url, "/api/meta").0, 200);
    let cases: [(u16, (u16, String)); 9] = [
        (404, common::get(&url, "/../../etc/passwd")),
        (404, common::get(&url, "/api/nothing")),
        (405, common::get(&url, "/api/decode")),
        (400, common::get(&url, "/api/example?i=99999")),
        (400, common::get(&url, "/api/example?i=x")),
        (400, common::post(&url, "/api/decode", "{\"x\": 1")),
        (400, common::post(&url, "/api/decode", "{\"z\": [1, 2]}")),
        (
            400,
            common::post(&url, "/api/decode", "{\"x\": 1e999, \"y\": 0}"),
        ),
        (
            413,
            common::post(
                &url,
                "/api/grid",
                &format!("{{\"indices\": [{}]}}", "1,".repeat(40_000) + "1"),
            ),
        ),
    ];
    for (k, (want, (got, body))) in cases.into_iter().enumerate() {
        assert_eq!(got, want, "case {k}: {body}");
        assert!(body.contains("\"error\""), "case {k}: {body}");
    }
    let (status, body) = common::http(
        &url,
        "GET /api/meta HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 403, "{body}");
    // Still serving, and decoding.
    let (status, body) = common::post(&url, "/api/decode", "{\"x\": 0.1, \"y\": -0.2}");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("data:image/png;base64,"), "{body}");
    // Ctrl-C: a clean stop.
    let (status, out) = common::interrupt(child);
    assert!(status.success(), "{status:?}");
    assert!(out.contains("stopped"), "{out}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_explorer_page_hovers_decodes_interpolates_and_selects() {
    let Some(driver) = driver() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_digits(d);
    let (child, url) = common::explore(d, "run");
    let Some(c) = browser(&driver).await else {
        let _ = common::interrupt(child);
        return;
    };
    c.goto(&url).await.unwrap();
    wait_until(&c, "document.body.dataset.ready === '1'", "the map to load").await;
    assert_eq!(
        number(
            &c,
            "+document.querySelector('#mapcard canvas').dataset.points"
        )
        .await,
        1797.0
    );
    // Under the pointer: the example and its reconstruction.
    let (x, y) = pixel(&c, "window.vaekitExplore.pixelOf(10)").await;
    pointer(&c, x, y, false).await;
    wait_until(
        &c,
        "document.querySelector('#hover').dataset.example",
        "the hovered example",
    )
    .await;
    assert!(number(&c, "document.querySelectorAll('#hover img').length").await >= 2.0);
    // A click on the plane away from every point: decoded.
    let (x0, y0) = pixel(&c, "window.vaekitExplore.pixelAt(100, 100)").await;
    let (cx, cy) = pixel(&c, "(() => { const b = document.querySelector('#mapcard canvas').getBoundingClientRect(); return [b.left + 60, b.top + 30]; })()").await;
    assert!(x0 > cx || y0 < cy, "the far point lies off the map");
    pointer(&c, cx, cy, true).await;
    wait_until(
        &c,
        "document.querySelector('#decoded').dataset.decoded",
        "the decoded point",
    )
    .await;
    assert_eq!(
        number(&c, "document.querySelectorAll('#decoded img').length").await,
        1.0
    );
    // Two picked points: their interpolation, ten steps, drawn on the map.
    for i in [3, 400] {
        let (x, y) = pixel(&c, &format!("window.vaekitExplore.pixelOf({i})")).await;
        pointer(&c, x, y, true).await;
    }
    wait_until(
        &c,
        "document.querySelector('#interp').dataset.steps === '10'",
        "the interpolation",
    )
    .await;
    assert!(
        c.current_url().await.unwrap().as_str().contains("k="),
        "the picks are in the address"
    );
    // A region dragged over the map's middle: its examples as a grid.
    c.find(Locator::Css("input[value=select]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let (mx, my) = pixel(&c, "(() => { const b = document.querySelector('#mapcard canvas').getBoundingClientRect(); return [b.left + b.width / 2, b.top + b.height / 2]; })()").await;
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x: (mx - 80.0).round(),
            y: (my - 80.0).round(),
        })
        .then(PointerAction::Down { button: 0 })
        .then(PointerAction::MoveTo {
            duration: Some(Duration::from_millis(100)),
            x: (mx + 80.0).round(),
            y: (my + 80.0).round(),
        })
        .then(PointerAction::Up { button: 0 });
    c.perform_actions(drag).await.unwrap();
    wait_until(
        &c,
        "+document.querySelector('#region').dataset.count > 0",
        "the region's grid",
    )
    .await;
    // A second tab on the same server, and the view restored from the address.
    let shared = c.current_url().await.unwrap().to_string();
    let tab = c.new_window(true).await.unwrap();
    c.switch_to_window(tab.handle).await.unwrap();
    c.goto(&shared).await.unwrap();
    wait_until(&c, "document.body.dataset.ready === '1'", "the second tab").await;
    wait_until(
        &c,
        "document.querySelector('#interp').dataset.steps === '10'",
        "the shared picks' interpolation",
    )
    .await;
    c.close().await.unwrap();
    assert!(common::interrupt(child).0.success());
}

/// An MNIST run's report (2,000 thumbnails on the map, every picture) stays
/// under 5 MB; the MNIST files are the shared data's, the test skips where
/// they are absent.
#[test]
fn an_mnist_report_stays_under_five_megabytes() {
    let Some(mnist) = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/data/mnist"))
        .find(|p| p.join("t10k-images-idx3-ubyte.gz").exists())
    else {
        println!("skipped: ../shared/data/mnist is absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = mnist.display().to_string();
    ok(
        d,
        &[
            "train", "--data", &data, "--out", "run", "--limit", "3000", "--epochs", "2", "-q",
        ],
    );
    let said = ok(d, &["report", "run", "--out", "mnist.html"]);
    assert!(said.contains("2000 examples on the map"), "{said}");
    let size = std::fs::metadata(d.join("mnist.html")).unwrap().len();
    assert!(size < 5_000_000, "the report is {size} bytes");
    // Onto an existing file: refused without --force, nothing changed.
    let err = common::bad_input(d, &["report", "run", "--out", "mnist.html"], &["--force"]);
    assert!(err.contains("exists"), "{err}");
    assert_eq!(std::fs::metadata(d.join("mnist.html")).unwrap().len(), size);
}

/// The two pictures of the README: the report and the explorer of the run
/// in `VAEKIT_SCREENSHOT_RUN`, written to `VAEKIT_SCREENSHOT_OUT` (default
/// docs/img). Not a test: `docs/screenshots.sh` trains an MNIST run and
/// calls it.
#[tokio::test(flavor = "current_thread")]
#[ignore]
async fn screenshots() {
    let Ok(run) = std::env::var("VAEKIT_SCREENSHOT_RUN") else {
        println!("skipped: VAEKIT_SCREENSHOT_RUN names no run");
        return;
    };
    let out = std::env::var("VAEKIT_SCREENSHOT_OUT").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/img"),
        PathBuf::from,
    );
    let Some(driver) = driver() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink(std::fs::canonicalize(&run).unwrap(), d.join("run")).unwrap();
    ok(d, &["report", "run", "--out", "report.html"]);
    let Some(c) = browser(&driver).await else {
        return;
    };
    c.set_window_size(1400, 1700).await.unwrap();
    c.goto(&format!("file://{}", d.join("report.html").display()))
        .await
        .unwrap();
    wait_until(&c, "document.body.dataset.ready === '1'", "the report").await;
    c.execute(
        "document.querySelector('#evaluation').scrollIntoView()",
        vec![],
    )
    .await
    .unwrap();
    std::fs::write(out.join("report.png"), c.screenshot().await.unwrap()).unwrap();
    let (child, url) = common::explore(d, "run");
    c.set_window_size(1400, 1000).await.unwrap();
    c.goto(&format!("{url}#c=label")).await.unwrap();
    wait_until(&c, "document.body.dataset.ready === '1'", "the explorer").await;
    for i in [7, 2] {
        let (x, y) = pixel(&c, &format!("window.vaekitExplore.pixelOf({i})")).await;
        pointer(&c, x, y, true).await;
    }
    wait_until(
        &c,
        "document.querySelector('#interp').dataset.steps",
        "the interpolation",
    )
    .await;
    let (x, y) = pixel(&c, "window.vaekitExplore.pixelOf(21)").await;
    pointer(&c, x, y, false).await;
    wait_until(
        &c,
        "document.querySelector('#hover').dataset.example === '21'",
        "the hovered example",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(out.join("explore.png"), c.screenshot().await.unwrap()).unwrap();
    c.close().await.unwrap();
    let _ = common::interrupt(child);
}

/// A text run's report in the browser: the sentence of the point under the
/// pointer, and the sentences' cards.
#[tokio::test(flavor = "current_thread")]
async fn a_text_report_shows_the_sentence_under_the_pointer() {
    let Some(driver) = driver() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let words = ["the cat", "a dog", "my sister", "the old man"];
    let verbs = ["sees", "likes", "found"];
    let objects = ["the ball", "a red apple", "her book", "a song", "the river"];
    let lines: String = (0..600)
        .map(|i| {
            format!(
                "{} {} {} .\n",
                words[i % 4],
                verbs[(i / 4) % 3],
                objects[(i / 12) % 5]
            )
        })
        .collect();
    std::fs::write(d.join("s.train.txt"), &lines).unwrap();
    ok(
        d,
        &[
            "train",
            "--data",
            "s.train.txt",
            "--out",
            "run",
            "--embed",
            "16",
            "--hidden",
            "32",
            "--latent",
            "4",
            "--epochs",
            "3",
            "-q",
        ],
    );
    ok(d, &["report", "run", "--out", "text.html"]);
    let Some(c) = browser(&driver).await else {
        return;
    };
    c.goto(&format!("file://{}", d.join("text.html").display()))
        .await
        .unwrap();
    wait_until(&c, "document.body.dataset.ready === '1'", "the text report").await;
    assert_eq!(
        number(&c, "document.querySelectorAll('#sentences .card').length").await,
        3.0
    );
    c.execute("document.querySelector('#map').scrollIntoView()", vec![])
        .await
        .unwrap();
    let (x, y) = pixel(&c, "window.vaekitReport.pixelOf(2)").await;
    pointer(&c, x, y, false).await;
    wait_until(
        &c,
        "document.querySelector('.tip .sentence')",
        "a sentence under the pointer",
    )
    .await;
    let text = c
        .execute(
            "return document.querySelector('.tip .sentence').textContent;",
            vec![],
        )
        .await
        .unwrap();
    assert!(text.as_str().is_some_and(|t| t.ends_with('.')), "{text}");
    c.close().await.unwrap();
}
