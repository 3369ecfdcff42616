//! QR code rendering time: `cargo bench -p app --features ssr --bench qr`.
//!
//! A plain timing loop (criterion's dependency tree is not worth it for two numbers): warm up,
//! then time batches and report the mean and the best batch's mean per image, in microseconds.
//! Targets: SVG under 1 ms, PNG under 5 ms, for a typical link at the default 256 px.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use app::ssr::services::qr::{self, QrFormat, QrLogo, QrOptions};

const LINK: &str = "http://127.0.0.1:3000/r/jane-7k4q";
const BATCH: u32 = 200;
const BATCHES: u32 = 25;

/// A 600 x 200 logo (a blue band on white), prepared as an upload would be.
fn sample_logo() -> QrLogo {
    let mut file = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut file, 600, 200);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().expect("header");
        let pixels: Vec<u8> = (0..600 * 200)
            .flat_map(|i| {
                if (50..150).contains(&(i / 600)) {
                    [29, 78, 216]
                } else {
                    [255, 255, 255]
                }
            })
            .collect();
        writer.write_image_data(&pixels).expect("pixels");
    }
    QrLogo::prepare("bench", &file).expect("a logo")
}

/// Mean and best-batch mean of `f`, in microseconds per call.
fn measure(mut f: impl FnMut() -> usize) -> (f64, f64) {
    let warm_up = Instant::now();
    while warm_up.elapsed() < Duration::from_millis(300) {
        black_box(f());
    }
    let mut total = Duration::ZERO;
    let mut best = Duration::MAX;
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..BATCH {
            black_box(f());
        }
        let elapsed = start.elapsed();
        total += elapsed;
        best = best.min(elapsed);
    }
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(BATCH);
    (per_call(total) / f64::from(BATCHES), per_call(best))
}

fn main() {
    let default = QrOptions::default();
    let large = QrOptions {
        size: 1024,
        ..default
    };
    let logo = sample_logo();
    let cases: [(&str, &QrOptions, QrFormat, Option<&QrLogo>, f64); 6] = [
        ("svg 256 px", &default, QrFormat::Svg, None, 1000.0),
        ("png 256 px", &default, QrFormat::Png, None, 5000.0),
        ("svg 1024 px", &large, QrFormat::Svg, None, 1000.0),
        ("png 1024 px", &large, QrFormat::Png, None, 5000.0),
        ("svg + logo", &default, QrFormat::Svg, Some(&logo), 1000.0),
        (
            "png 1024 + logo",
            &large,
            QrFormat::Png,
            Some(&logo),
            5000.0,
        ),
    ];
    println!(
        "QR code of {LINK}, {} calls per case ({BATCHES} batches of {BATCH})",
        BATCH * BATCHES
    );
    println!(
        "{:<16} {:>10} {:>14} {:>10} {:>8}",
        "case", "mean µs", "best batch µs", "bytes", "target"
    );
    let mut missed = false;
    for (name, options, format, logo, target_us) in cases {
        let render = || {
            qr::render(LINK, format, options, logo)
                .map(|image| image.len())
                .expect("renders")
        };
        let bytes = render();
        let (mean, best) = measure(render);
        let met = mean < target_us;
        missed |= !met;
        println!(
            "{name:<16} {mean:>10.1} {best:>14.1} {bytes:>10} {:>8}",
            if met {
                format!("< {} ms", target_us / 1000.0)
            } else {
                "MISSED".to_owned()
            }
        );
    }
    // Where the time goes: choosing the version, error correction and the best of 8 masks,
    // which both formats pay before drawing anything.
    let (mean, best) = measure(|| {
        qrcode::QrCode::with_error_correction_level(LINK, qrcode::EcLevel::M)
            .map(|code| code.width())
            .expect("encodes")
    });
    println!("{:<16} {mean:>10.1} {best:>14.1}", "encode only");
    if missed {
        std::process::exit(1);
    }
}
