//! Media made on the spot, so that no binary is committed: a valid PNG of any size (stored
//! deflate blocks, real CRCs), and an MP4 with an H.264 track of a chosen size, length and
//! frame rate whose samples are filler (what Chorus probes is the boxes, not the pictures).
//! For tests, `chorus bench media` and the demo's media.

use std::io::{Cursor, Seek, Write};

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A `width`×`height` PNG in one colour (RGB), readable by any decoder.
pub fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((width * 3 + 1) * height) as usize);
    for _ in 0..height {
        raw.push(0); // filter: none
        for _ in 0..width {
            raw.extend_from_slice(&rgb);
        }
    }
    // zlib stream of stored blocks (no compression) with its Adler-32.
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A real baseline JPEG of `width`×`height`: a diagonal gradient from `rgb` to white
/// (`jpeg-encoder`, quality 85), viewable anywhere. Empty if the encoder refuses the size.
pub fn jpeg(width: u16, height: u16, rgb: [u8; 3]) -> Vec<u8> {
    let (w, h) = (usize::from(width.max(1)), usize::from(height.max(1)));
    let mut pixels = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let t = ((x + y) * 255 / (w + h)) as u16;
            for c in rgb {
                pixels.push((u16::from(c) + (255 - u16::from(c)) * t / 255) as u8);
            }
        }
    }
    let mut out = Vec::new();
    match jpeg_encoder::Encoder::new(&mut out, 85).encode(&pixels, w as u16, h as u16, jpeg_encoder::ColorType::Rgb) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// An MP4 with one H.264 video track of `width`×`height`, `seconds` long at `fps`, in memory.
pub fn mp4(width: u16, height: u16, seconds: u32, fps: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    // Writing to memory fails only on a malformed configuration, which these constants are not.
    if write_mp4(&mut out, width, height, seconds, fps, 6).is_err() {
        return Vec::new();
    }
    out.into_inner()
}

/// Writes an MP4 like [`mp4`] to `to`, each sample `sample_bytes` long (a 500 MB file for
/// a benchmark is 60 s at 30 fps of ~280 KB samples).
pub fn write_mp4<W: Write + Seek>(
    to: W,
    width: u16,
    height: u16,
    seconds: u32,
    fps: u32,
    sample_bytes: usize,
) -> Result<W, mp4::Error> {
    let brand = |s: &str| s.parse::<mp4::FourCC>();
    let config = mp4::Mp4Config {
        major_brand: brand("isom")?,
        minor_version: 512,
        compatible_brands: vec![brand("isom")?, brand("avc1")?],
        timescale: 1000,
    };
    let mut w = mp4::Mp4Writer::write_start(to, &config)?;
    let timescale = fps * 1000;
    w.add_track(&mp4::TrackConfig {
        track_type: mp4::TrackType::Video,
        timescale,
        language: "und".into(),
        media_conf: mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
            width,
            height,
            seq_param_set: vec![0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9],
            pic_param_set: vec![0x68, 0xeb, 0xe3, 0xcb],
        }),
    })?;
    // A NAL unit of filler, its length prefix first; different per sample so nothing
    // downstream can deduplicate it.
    let mut sample = vec![0u8; sample_bytes.max(6)];
    let len = (sample.len() - 4) as u32;
    sample[..4].copy_from_slice(&len.to_be_bytes());
    sample[4] = 0x0c;
    for i in 0..seconds * fps {
        let tag = i.to_be_bytes();
        let n = sample.len();
        sample[n - 4..].copy_from_slice(&tag);
        w.write_sample(
            1,
            &mp4::Mp4Sample {
                start_time: u64::from(i) * 1000,
                duration: 1000,
                rendering_offset: 0,
                is_sync: i % fps == 0,
                bytes: bytes::Bytes::copy_from_slice(&sample),
            },
        )?;
    }
    w.write_end()?;
    Ok(w.into_writer())
}
