//! Reading images in tests: PNG pixels, and every QR code in them decoded by a real decoder
//! (rqrr).

/// A PNG's pixels at 8 bits a channel: (width, height, channels, samples).
pub fn pixels(png_bytes: &[u8]) -> (usize, usize, usize, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    buf.truncate(info.buffer_size());
    (
        info.width as usize,
        info.height as usize,
        info.color_type.samples(),
        buf,
    )
}

/// A PNG as (width, height, one grey byte per pixel), whatever its colour type.
pub fn grey_pixels(png_bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let (width, height, channels, buf) = pixels(png_bytes);
    let grey = buf
        .chunks_exact(channels)
        .map(|p| match p.len() {
            // Grey, or grey with alpha: the grey.
            1 | 2 => p[0],
            // RGB(A): the average of the colour channels, over white where transparent.
            _ => {
                let alpha = if p.len() == 4 { u32::from(p[3]) } else { 255 };
                let average = (u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3;
                ((average * alpha + 255 * (255 - alpha)) / 255) as u8
            }
        })
        .collect();
    (width, height, grey)
}

/// The text of every QR code in a PNG, in the order the decoder finds them. A code that is
/// found but does not decode fails the test.
pub fn decode_all(png_bytes: &[u8]) -> Vec<String> {
    let (w, h, grey) = grey_pixels(png_bytes);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| grey[y * w + x]);
    image
        .detect_grids()
        .iter()
        .map(|grid| grid.decode().expect("the QR code decodes").1)
        .collect()
}
