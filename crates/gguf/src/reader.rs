//! The GGUF header parser and validator: [`validate`] and the checks it makes.
//!
//! [`validate`] reads only the header (magic, version, metadata, tensor infos) through a buffered
//! reader, never the tensor data, and checks everything llama.cpp's own `gguf_init_from_file`
//! would reject, so a damaged or hostile file fails with a specific reason instead of a crash or a
//! vague load error deep inside llama.cpp:
//!
//! * magic `GGUF`, little-endian version 2 or 3;
//! * tensor and metadata counts that could fit in the file, every string and array inside the file
//!   (no allocation is ever sized from an unchecked count);
//! * metadata value types 0..=12, unique non-empty keys, no nested arrays (llama.cpp rejects them);
//! * `general.alignment` a `u32` power of two (default 32);
//! * tensor infos: unique names shorter than 64 bytes, at most 4 dimensions, a known ggml type,
//!   rows a whole number of blocks, offsets aligned and laid out in order as llama.cpp expects;
//! * the data section aligned, and every tensor's bytes inside the file.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::info::{GgufInfo, GgufValue, TensorInfo};
use crate::types::{describe_bad_type, ggml_type};
use crate::GgufError;

/// The alignment of the data section when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// Most dimensions a ggml tensor can have (`GGML_MAX_DIMS`).
pub const MAX_DIMS: u32 = 4;
/// Longest tensor name ggml accepts, exclusive (`GGML_MAX_NAME`).
const MAX_TENSOR_NAME: usize = 64;
/// Longest string llama.cpp reads (`GGUF_MAX_STRING_LENGTH`).
const MAX_STRING: u64 = 1 << 30;
/// Cap for any `Vec::with_capacity` taken from a count in the file.
const MAX_PREALLOC: u64 = 4096;
/// Fewest bytes one metadata entry can take: key length, a 1-byte key, type, a 1-byte value.
const MIN_KV_BYTES: u64 = 8 + 1 + 4 + 1;
/// Fewest bytes one tensor info can take: name length, dimension count, type, offset.
const MIN_TENSOR_BYTES: u64 = 8 + 4 + 4 + 8;

/// Validate a GGUF file before llama.cpp opens it, returning what its header says.
///
/// # Errors
/// [`GgufError::Io`] when the file cannot be opened or read, [`GgufError::Invalid`] with
/// a specific reason when its contents are not a GGUF file llama.cpp could load.
pub fn validate(path: &Path) -> Result<GgufInfo, GgufError> {
    let io_err = |reason: String| GgufError::Io {
        path: path.to_owned(),
        reason,
    };
    let file = File::open(path).map_err(|e| io_err(e.to_string()))?;
    let meta = file.metadata().map_err(|e| io_err(e.to_string()))?;
    if meta.is_dir() {
        return Err(io_err("is a directory".into()));
    }
    parse(BufReader::with_capacity(1 << 16, file), meta.len()).map_err(|e| match e {
        Fail::Invalid(reason) => GgufError::Invalid {
            path: path.to_owned(),
            reason,
        },
        Fail::Io(e) => io_err(e.to_string()),
    })
}

/// [`validate`] for a file already in memory (tests and fuzzing): the same checks, with
/// `<memory>` as the path in errors.
///
/// # Errors
/// [`GgufError::Invalid`] as for [`validate`].
pub fn validate_bytes(bytes: &[u8]) -> Result<GgufInfo, GgufError> {
    let path = Path::new("<memory>");
    parse(bytes, bytes.len() as u64).map_err(|e| match e {
        Fail::Invalid(reason) => GgufError::Invalid {
            path: path.to_owned(),
            reason,
        },
        Fail::Io(e) => GgufError::Io {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    })
}

/// Why parsing stopped.
#[derive(Debug)]
enum Fail {
    Invalid(String),
    Io(std::io::Error),
}

fn invalid<T>(reason: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Invalid(reason.into()))
}

/// A reader that knows its position and how many bytes the file has left, so every length is
/// checked against the file before anything is allocated or read.
struct Reader<R> {
    inner: R,
    pos: u64,
    len: u64,
}

impl<R: Read> Reader<R> {
    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    /// Fail with "truncated: <what> runs past end of file" unless `n` more bytes exist.
    fn need(&self, n: u64, what: &dyn Fn() -> String) -> Result<(), Fail> {
        if n > self.remaining() {
            return invalid(format!(
                "truncated: {} runs past end of file (file is {} bytes)",
                what(),
                self.len
            ));
        }
        Ok(())
    }

    fn bytes<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N], Fail> {
        self.need(N as u64, what)?;
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.io(e, what))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32, Fail> {
        self.bytes::<4>(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64, Fail> {
        self.bytes::<8>(what).map(u64::from_le_bytes)
    }

    /// A GGUF string: `u64` length, then that many bytes (UTF-8; invalid sequences are replaced).
    fn string(&mut self, what: &dyn Fn() -> String) -> Result<String, Fail> {
        let len = self.u64(what)?;
        if len > MAX_STRING {
            return invalid(format!(
                "{} has length {len}, over llama.cpp's limit of {MAX_STRING}",
                what()
            ));
        }
        self.need(len, what)?;
        let mut buf = Vec::with_capacity(len.min(MAX_PREALLOC) as usize);
        let read = (&mut self.inner)
            .take(len)
            .read_to_end(&mut buf)
            .map_err(|e| self.io(e, what))?;
        if read as u64 != len {
            return invalid(format!(
                "truncated: {} runs past end of file (file shrank while reading)",
                what()
            ));
        }
        self.pos += len;
        Ok(match String::from_utf8(buf) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    fn io(&self, e: std::io::Error, what: &dyn Fn() -> String) -> Fail {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Fail::Invalid(format!(
                "truncated: {} runs past end of file (file shrank while reading)",
                what()
            ))
        } else {
            Fail::Io(e)
        }
    }
}

/// GGUF metadata value types.
mod kind {
    pub const U8: u32 = 0;
    pub const I8: u32 = 1;
    pub const U16: u32 = 2;
    pub const I16: u32 = 3;
    pub const U32: u32 = 4;
    pub const I32: u32 = 5;
    pub const F32: u32 = 6;
    pub const BOOL: u32 = 7;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
    pub const U64: u32 = 10;
    pub const I64: u32 = 11;
    pub const F64: u32 = 12;
}

/// Bytes a scalar of GGUF type `t` takes (strings: their length prefix only).
fn scalar_size(t: u32) -> Option<u64> {
    Some(match t {
        kind::U8 | kind::I8 | kind::BOOL => 1,
        kind::U16 | kind::I16 => 2,
        kind::U32 | kind::I32 | kind::F32 => 4,
        kind::U64 | kind::I64 | kind::F64 | kind::STRING => 8,
        _ => return None,
    })
}

fn type_name(t: u32) -> &'static str {
    match t {
        kind::U8 => "u8",
        kind::I8 => "i8",
        kind::U16 => "u16",
        kind::I16 => "i16",
        kind::U32 => "u32",
        kind::I32 => "i32",
        kind::F32 => "f32",
        kind::BOOL => "bool",
        kind::STRING => "string",
        kind::ARRAY => "array",
        kind::U64 => "u64",
        kind::I64 => "i64",
        kind::F64 => "f64",
        _ => "invalid",
    }
}

fn read_scalar<R: Read>(
    r: &mut Reader<R>,
    t: u32,
    what: &dyn Fn() -> String,
) -> Result<GgufValue, Fail> {
    Ok(match t {
        kind::U8 => GgufValue::U64(u64::from(r.bytes::<1>(what)?[0])),
        kind::I8 => GgufValue::I64(i64::from(i8::from_le_bytes(r.bytes::<1>(what)?))),
        kind::U16 => GgufValue::U64(u64::from(u16::from_le_bytes(r.bytes::<2>(what)?))),
        kind::I16 => GgufValue::I64(i64::from(i16::from_le_bytes(r.bytes::<2>(what)?))),
        kind::U32 => GgufValue::U64(u64::from(r.u32(what)?)),
        kind::I32 => GgufValue::I64(i64::from(i32::from_le_bytes(r.bytes::<4>(what)?))),
        kind::F32 => GgufValue::F64(f32_to_f64(f32::from_le_bytes(r.bytes::<4>(what)?))),
        kind::BOOL => GgufValue::Bool(r.bytes::<1>(what)?[0] != 0),
        kind::STRING => GgufValue::String(r.string(what)?),
        kind::U64 => GgufValue::U64(r.u64(what)?),
        kind::I64 => GgufValue::I64(i64::from_le_bytes(r.bytes::<8>(what)?)),
        kind::F64 => GgufValue::F64(f64::from_le_bytes(r.bytes::<8>(what)?)),
        _ => return invalid(format!("{} has invalid GGUF type {t}", what())),
    })
}

/// Widen an `f32` through its shortest decimal form, so `0.1f32` becomes `0.1`, not
/// `0.10000000149011612`.
fn f32_to_f64(v: f32) -> f64 {
    if v.is_finite() {
        v.to_string().parse().unwrap_or(f64::from(v))
    } else {
        f64::from(v)
    }
}

/// Read one metadata value of type `t` for `key`.
fn read_value<R: Read>(r: &mut Reader<R>, t: u32, key: &str) -> Result<GgufValue, Fail> {
    if t != kind::ARRAY {
        if scalar_size(t).is_none() {
            return invalid(format!(
                "metadata key '{key}' has invalid GGUF type {t} (valid types are 0..=12)"
            ));
        }
        return read_scalar(r, t, &|| format!("value of metadata key '{key}'"));
    }
    let elem = r.u32(&|| format!("array type of metadata key '{key}'"))?;
    let count = r.u64(&|| format!("array length of metadata key '{key}'"))?;
    if elem == kind::ARRAY {
        return invalid(format!(
            "metadata key '{key}' is an array of arrays (valid GGUF, but llama.cpp cannot load it)"
        ));
    }
    let Some(elem_size) = scalar_size(elem) else {
        return invalid(format!(
            "metadata array '{key}' has invalid element type {elem} (valid types are 0..=12)"
        ));
    };
    if u128::from(count) * u128::from(elem_size) > u128::from(r.remaining()) {
        return invalid(format!(
            "metadata array '{key}' claims {count} {} elements, more than the {} bytes left in the file could hold",
            type_name(elem),
            r.remaining()
        ));
    }
    let mut items = Vec::with_capacity(count.min(MAX_PREALLOC) as usize);
    for i in 0..count {
        items.push(read_scalar(r, elem, &|| {
            format!("element {i} of metadata array '{key}'")
        })?);
    }
    Ok(GgufValue::Array(items))
}

/// Parse and check a GGUF header of a file `len` bytes long.
fn parse<R: Read>(inner: R, len: u64) -> Result<GgufInfo, Fail> {
    let mut r = Reader { inner, pos: 0, len };

    // Magic and version.
    if len == 0 {
        return invalid("bad magic: not a GGUF file (the file is empty)");
    }
    let have = len.min(4) as usize;
    let mut magic = [0u8; 4];
    r.inner
        .read_exact(&mut magic[..have])
        .map_err(|e| r.io(e, &|| "the magic".into()))?;
    r.pos = have as u64;
    if magic[..have] != b"GGUF"[..have] {
        return invalid(format!(
            "bad magic: not a GGUF file (starts with {})",
            hex(&magic[..have])
        ));
    }
    if have < 4 {
        return invalid(format!(
            "truncated: file is {len} bytes, too short for a GGUF header"
        ));
    }
    let version = r.u32(&|| "the version".into())?;
    match version {
        2 | 3 => {}
        1 => {
            return invalid(
                "GGUF version 1 is no longer supported (llama.cpp reads versions 2 and 3)",
            )
        }
        v if v.swap_bytes() == 2 || v.swap_bytes() == 3 => {
            return invalid(format!(
                "big-endian GGUF (version {}) is not supported on this little-endian machine",
                v.swap_bytes()
            ))
        }
        v => {
            return invalid(format!(
                "unsupported GGUF version {v} (llama.cpp reads versions 2 and 3)"
            ))
        }
    }
    let tensor_count = r.u64(&|| "the tensor count".into())?;
    let kv_count = r.u64(&|| "the metadata count".into())?;
    let room = u128::from(r.remaining());
    if u128::from(tensor_count) * u128::from(MIN_TENSOR_BYTES) > room {
        return invalid(format!(
            "tensor count {} is implausible for a {} file (truncated or corrupt: each tensor needs at least {MIN_TENSOR_BYTES} header bytes)",
            count_label(tensor_count),
            human_bytes(len)
        ));
    }
    if u128::from(kv_count) * u128::from(MIN_KV_BYTES)
        + u128::from(tensor_count) * u128::from(MIN_TENSOR_BYTES)
        > room
    {
        return invalid(format!(
            "metadata count {} is implausible for a {} file (truncated or corrupt: each entry needs at least {MIN_KV_BYTES} bytes)",
            count_label(kv_count),
            human_bytes(len)
        ));
    }

    // Metadata.
    let mut metadata = BTreeMap::new();
    let mut alignment_type = None;
    for i in 0..kv_count {
        let key = r.string(&|| format!("metadata key {i}"))?;
        if key.is_empty() {
            return invalid(format!("metadata key {i} is empty"));
        }
        if metadata.contains_key(&key) {
            return invalid(format!("duplicate metadata key '{key}'"));
        }
        let t = r.u32(&|| format!("type of metadata key '{key}'"))?;
        let value = read_value(&mut r, t, &key)?;
        if key == "general.alignment" {
            alignment_type = Some(t);
        }
        metadata.insert(key, value);
    }

    let alignment = match (alignment_type, metadata.get("general.alignment")) {
        (None, _) => DEFAULT_ALIGNMENT,
        (Some(kind::U32), Some(GgufValue::U64(a))) if a.is_power_of_two() => *a,
        (Some(kind::U32), Some(GgufValue::U64(a))) => {
            return invalid(format!("general.alignment {a} is not a power of two"));
        }
        (Some(t), _) => {
            return invalid(format!(
                "general.alignment must be of type u32 but is {}",
                type_name(t)
            ))
        }
    };

    // Tensor infos.
    let mut tensors = Vec::with_capacity(tensor_count.min(MAX_PREALLOC) as usize);
    let mut names = HashSet::new();
    for i in 0..tensor_count {
        let name = r.string(&|| format!("name of tensor {i}"))?;
        if name.len() >= MAX_TENSOR_NAME {
            return invalid(format!(
                "tensor {i} name is {} bytes long, over ggml's limit of {}",
                name.len(),
                MAX_TENSOR_NAME - 1
            ));
        }
        if !names.insert(name.clone()) {
            return invalid(format!("duplicate tensor name '{name}'"));
        }
        let what = |field: &str| format!("{field} of tensor '{name}'");
        let n_dims = r.u32(&|| what("dimension count"))?;
        if n_dims > MAX_DIMS {
            return invalid(format!(
                "tensor '{name}' has {n_dims} dimensions; ggml supports at most {MAX_DIMS}"
            ));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for d in 0..n_dims {
            let n = r.u64(&|| what(&format!("dimension {d}")))?;
            if i64::try_from(n).is_err() {
                return invalid(format!(
                    "tensor '{name}' dimension {d} has invalid size {n} (negative as int64)"
                ));
            }
            dims.push(n);
        }
        let elements = dims.iter().try_fold(1u64, |acc, &n| {
            acc.checked_mul(n).filter(|&p| i64::try_from(p).is_ok())
        });
        let Some(elements) = elements else {
            return invalid(format!(
                "tensor '{name}' shape {dims:?} has more elements than int64 can count"
            ));
        };
        let type_id = r.u32(&|| what("type"))?;
        let ty = match ggml_type(type_id) {
            Some(t) => t,
            None => {
                return invalid(format!(
                    "tensor '{name}' has {}",
                    describe_bad_type(type_id)
                ))
            }
        };
        let row = dims.first().copied().unwrap_or(1);
        if row % ty.block != 0 {
            return invalid(format!(
                "tensor '{name}' of type {} has {row} elements per row, not a multiple of its block size {}",
                ty.name, ty.block
            ));
        }
        let size = u128::from(elements / ty.block) * u128::from(ty.bytes);
        let Ok(size) = u64::try_from(size) else {
            return invalid(format!("tensor '{name}' size in bytes overflows"));
        };
        let offset = r.u64(&|| what("data offset"))?;
        if offset % alignment != 0 {
            return invalid(format!(
                "tensor '{name}' data offset {offset} is not a multiple of the alignment {alignment}"
            ));
        }
        tensors.push(TensorInfo {
            name,
            dims,
            ggml_type: type_id,
            offset,
            size,
        });
    }

    // Data section: starts at the next multiple of the alignment; tensors follow in order, each
    // padded to the alignment, and all of them inside the file.
    let data_offset = if tensor_count > 0 {
        match r.pos.div_ceil(alignment).checked_mul(alignment) {
            Some(start) if start <= len => start,
            _ => {
                return invalid(format!(
                    "truncated: the tensor data section would start past the end of the file ({len} bytes)"
                ))
            }
        }
    } else {
        r.pos
    };
    let mut expected = 0u64;
    for t in &tensors {
        let start = u128::from(data_offset) + u128::from(t.offset);
        let end = start + u128::from(t.size);
        if end > u128::from(len) {
            return invalid(format!(
                "tensor '{}' data [{start}..{end}) lies outside the file ({len} bytes)",
                t.name
            ));
        }
        if t.offset != expected {
            return invalid(format!(
                "tensor '{}' has data offset {}, expected {expected} (llama.cpp needs tensors stored in order, each padded to {alignment} bytes)",
                t.name, t.offset
            ));
        }
        expected = expected.saturating_add(t.size.div_ceil(alignment).saturating_mul(alignment));
    }

    Ok(GgufInfo {
        version,
        tensor_count,
        file_size: len,
        metadata,
        data_offset,
        alignment,
        tensors,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `2^60` for exact powers of two above 2^20, the plain number otherwise.
fn count_label(n: u64) -> String {
    if n.is_power_of_two() && n > 1 << 20 {
        format!("2^{}", n.trailing_zeros())
    } else {
        n.to_string()
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}-byte")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A tiny GGUF writer for synthetic test files.
    struct Writer {
        buf: Vec<u8>,
    }

    impl Writer {
        fn new(version: u32, tensors: u64, kvs: u64) -> Writer {
            let mut w = Writer {
                buf: b"GGUF".to_vec(),
            };
            w.u32(version);
            w.u64(tensors);
            w.u64(kvs);
            w
        }
        fn u32(&mut self, v: u32) -> &mut Self {
            self.buf.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn u64(&mut self, v: u64) -> &mut Self {
            self.buf.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn str(&mut self, s: &str) -> &mut Self {
            self.u64(s.len() as u64);
            self.buf.extend_from_slice(s.as_bytes());
            self
        }
        fn kv_str(&mut self, k: &str, v: &str) -> &mut Self {
            self.str(k).u32(kind::STRING).str(v)
        }
        fn kv_u32(&mut self, k: &str, v: u32) -> &mut Self {
            self.str(k).u32(kind::U32).u32(v)
        }
        fn kv_f32(&mut self, k: &str, v: f32) -> &mut Self {
            self.str(k).u32(kind::F32);
            self.buf.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn kv_strs(&mut self, k: &str, items: &[&str]) -> &mut Self {
            self.str(k)
                .u32(kind::ARRAY)
                .u32(kind::STRING)
                .u64(items.len() as u64);
            for s in items {
                self.str(s);
            }
            self
        }
        fn kv_i32s(&mut self, k: &str, items: &[i32]) -> &mut Self {
            self.str(k)
                .u32(kind::ARRAY)
                .u32(kind::I32)
                .u64(items.len() as u64);
            for v in items {
                self.buf.extend_from_slice(&v.to_le_bytes());
            }
            self
        }
        fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
            self.str(name).u32(dims.len() as u32);
            for d in dims {
                self.u64(*d);
            }
            self.u32(ty).u64(offset)
        }
        fn pad(&mut self, align: usize) -> &mut Self {
            let padding = (align - self.buf.len() % align) % align;
            self.buf.resize(self.buf.len() + padding, 0);
            self
        }
        fn data(&mut self, n: usize) -> &mut Self {
            self.buf.extend(std::iter::repeat_n(0xAB, n));
            self
        }
    }

    /// A small valid file: 6 metadata keys, an F32 [4, 2] tensor (32 bytes) and a Q4_0 [64]
    /// tensor (36 bytes, padded to 64).
    fn good() -> Vec<u8> {
        let mut w = Writer::new(3, 2, 6);
        w.kv_str("general.architecture", "llama")
            .kv_str("general.name", "tiny")
            .kv_u32("llama.context_length", 2048)
            .kv_u32("general.file_type", 15)
            .kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5)
            .kv_strs(
                "tokenizer.ggml.tokens",
                &["<s>", "</s>", "a", "b", "c", "d"],
            )
            .tensor("token_embd.weight", &[4, 2], 0, 0)
            .tensor("blk.0.attn_q.weight", &[64], 2, 32)
            .pad(32)
            .data(32 + 36);
        w.buf
    }

    fn check(bytes: &[u8]) -> Result<GgufInfo, String> {
        parse(Cursor::new(bytes), bytes.len() as u64).map_err(|e| match e {
            Fail::Invalid(s) => s,
            Fail::Io(e) => format!("io: {e}"),
        })
    }

    fn reason(bytes: &[u8]) -> String {
        check(bytes).expect_err("should be rejected")
    }

    #[test]
    fn accepts_a_good_file() {
        let bytes = good();
        let info = check(&bytes).unwrap();
        assert_eq!(info.version, 3);
        assert_eq!(info.tensor_count, 2);
        assert_eq!(info.file_size, bytes.len() as u64);
        assert_eq!(info.alignment, 32);
        assert_eq!(info.data_offset % 32, 0);
        assert_eq!(info.architecture(), Some("llama"));
        assert_eq!(info.context_length(), Some(2048));
        assert_eq!(info.file_type_name(), Some("Q4_K_M"));
        assert_eq!(
            info.get("llama.attention.layer_norm_rms_epsilon"),
            Some(&GgufValue::F64(1e-5))
        );
        assert_eq!(info.tensors[0].size, 32);
        assert_eq!(info.tensors[1].size, 18 * 2);
        assert_eq!(info.tensors[1].type_name(), "Q4_0");
        assert_eq!(info.parameter_count(), 8 + 64);
    }

    #[test]
    fn rejects_wrong_magic() {
        let mut bytes = good();
        bytes[..4].copy_from_slice(b"GGML");
        assert!(
            reason(&bytes).starts_with("bad magic: not a GGUF file"),
            "{}",
            reason(&bytes)
        );
        assert!(reason(b"").starts_with("bad magic"));
        assert!(reason(b"GG").starts_with("truncated"));
    }

    #[test]
    fn rejects_bad_versions() {
        for (v, text) in [
            (7, "unsupported GGUF version 7"),
            (1, "version 1 is no longer supported"),
        ] {
            let mut bytes = good();
            bytes[4..8].copy_from_slice(&u32::to_le_bytes(v));
            assert!(reason(&bytes).contains(text), "{}", reason(&bytes));
        }
        let mut bytes = good();
        bytes[4..8].copy_from_slice(&3u32.to_be_bytes());
        assert!(reason(&bytes).contains("big-endian"));
        let mut v2 = good();
        v2[4..8].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(check(&v2).unwrap().version, 2);
    }

    #[test]
    fn rejects_truncation_with_a_specific_reason() {
        let bytes = good();
        let header_end = check(&bytes).unwrap().data_offset as usize;
        for cut in [6, 20, 30, 40, 100, header_end - 3] {
            let why = reason(&bytes[..cut]);
            assert!(
                why.contains("truncated") || why.contains("implausible"),
                "cut {cut}: {why}"
            );
        }
        let why = reason(&bytes[..160]);
        assert!(
            why.contains("truncated: metadata key 3 runs past end of file (file is 160 bytes)"),
            "{why}"
        );
        let why = reason(&bytes[..bytes.len() - 1]);
        assert!(
            why.contains("tensor 'blk.0.attn_q.weight' data")
                && why.contains("lies outside the file"),
            "{why}"
        );
    }

    #[test]
    fn rejects_implausible_counts() {
        let mut bytes = good();
        bytes[8..16].copy_from_slice(&(1u64 << 60).to_le_bytes());
        let why = reason(&bytes);
        assert!(
            why.contains("tensor count 2^60 is implausible for a"),
            "{why}"
        );
        let mut bytes = good();
        bytes[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(reason(&bytes).contains("metadata count"));
        // An array claiming more elements than the file holds.
        let mut w = Writer::new(3, 0, 1);
        w.str("tokenizer.ggml.scores")
            .u32(kind::ARRAY)
            .u32(kind::F32)
            .u64(1 << 40);
        assert!(reason(&w.buf).contains("claims 1099511627776 f32 elements"));
        // A string longer than the file.
        let mut w = Writer::new(3, 0, 1);
        w.str("general.name").u32(kind::STRING).u64(u64::MAX);
        assert!(reason(&w.buf).contains("value of metadata key 'general.name'"));
    }

    #[test]
    fn rejects_bad_metadata() {
        let mut w = Writer::new(3, 0, 1);
        w.str("x").u32(13).u32(0);
        assert!(reason(&w.buf).contains("invalid GGUF type 13"));
        let mut w = Writer::new(3, 0, 1);
        w.str("x").u32(kind::ARRAY).u32(kind::ARRAY).u64(1);
        assert!(reason(&w.buf).contains("array of arrays"));
        let mut w = Writer::new(3, 0, 2);
        w.kv_u32("x", 1).kv_u32("x", 2);
        assert!(reason(&w.buf).contains("duplicate metadata key 'x'"));
        let mut w = Writer::new(3, 0, 1);
        w.kv_u32("", 1);
        assert!(reason(&w.buf).contains("is empty"));
        let mut w = Writer::new(3, 0, 1);
        w.kv_i32s("llama.rope.sections", &[1, -2, 3]);
        assert_eq!(
            check(&w.buf).unwrap().get("llama.rope.sections"),
            Some(&GgufValue::Array(vec![
                GgufValue::I64(1),
                GgufValue::I64(-2),
                GgufValue::I64(3)
            ]))
        );
    }

    #[test]
    fn rejects_bad_alignment() {
        let mut w = Writer::new(3, 0, 1);
        w.kv_u32("general.alignment", 48);
        assert!(reason(&w.buf).contains("general.alignment 48 is not a power of two"));
        let mut w = Writer::new(3, 0, 1);
        w.kv_u32("general.alignment", 0);
        assert!(reason(&w.buf).contains("not a power of two"));
        let mut w = Writer::new(3, 0, 1);
        w.str("general.alignment").u32(kind::U64).u64(64);
        assert!(reason(&w.buf).contains("must be of type u32"));
        // A tensor offset that is not a multiple of the alignment.
        let mut w = Writer::new(3, 2, 1);
        w.kv_u32("general.alignment", 64)
            .tensor("a", &[4], 0, 0)
            .tensor("b", &[4], 0, 16)
            .pad(64)
            .data(128);
        assert!(reason(&w.buf)
            .contains("tensor 'b' data offset 16 is not a multiple of the alignment 64"));
        // Custom alignment is honoured for the data section.
        let mut w = Writer::new(3, 2, 1);
        w.kv_u32("general.alignment", 64)
            .tensor("a", &[4], 0, 0)
            .tensor("b", &[4], 0, 64)
            .pad(64)
            .data(80);
        let info = check(&w.buf).unwrap();
        assert_eq!((info.alignment, info.data_offset % 64), (64, 0));
    }

    #[test]
    fn rejects_bad_tensors() {
        let one = |dims: &[u64], ty: u32, offset: u64| {
            let mut w = Writer::new(3, 1, 0);
            w.tensor("t", dims, ty, offset).pad(32).data(64);
            w.buf
        };
        assert!(reason(&one(&[1, 1, 1, 1, 1], 0, 0)).contains("5 dimensions"));
        assert!(reason(&one(&[4], 31, 0)).contains("Q4_0_4_4"));
        assert!(reason(&one(&[4], 99, 0)).contains("unknown ggml type 99"));
        assert!(reason(&one(&[16], 2, 0)).contains("not a multiple of its block size 32"));
        assert!(reason(&one(&[1 << 62, 4], 0, 0)).contains("more elements than int64"));
        assert!(reason(&one(&[u64::MAX], 0, 0)).contains("negative"));
        assert!(reason(&one(&[4], 0, 1 << 40)).contains("lies outside the file"));
        assert!(reason(&one(&[4], 0, 32)).contains("expected 0"));
        let long = "x".repeat(64);
        let mut w = Writer::new(3, 1, 0);
        w.tensor(&long, &[4], 0, 0).pad(32).data(16);
        assert!(reason(&w.buf).contains("over ggml's limit of 63"));
        let mut w = Writer::new(3, 2, 0);
        w.tensor("a", &[4], 0, 0)
            .tensor("a", &[4], 0, 32)
            .pad(32)
            .data(64);
        assert!(reason(&w.buf).contains("duplicate tensor name 'a'"));
    }

    /// Truncating or corrupting a valid file anywhere must give `Ok` or `Err`, never a panic
    /// or a huge allocation.
    #[test]
    fn never_panics_on_damaged_input() {
        let bytes = good();
        for cut in 0..bytes.len() {
            let _ = check(&bytes[..cut]);
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for pos in 0..bytes.len() {
            for value in [0x00, 0xff, 0x7f, 0x80, 0x01, bytes[pos] ^ 0x40] {
                let mut damaged = bytes.clone();
                damaged[pos] = value;
                let _ = check(&damaged);
            }
        }
        for _ in 0..2000 {
            let mut damaged = bytes.clone();
            for _ in 0..(next() % 4 + 1) {
                let pos = (next() % damaged.len() as u64) as usize;
                damaged[pos] = next() as u8;
            }
            let cut = (next() % (damaged.len() as u64 + 1)) as usize;
            let _ = check(&damaged[..cut]);
        }
    }

    #[test]
    fn validate_reads_files_and_reports_io_errors() {
        let dir = std::env::temp_dir().join(format!("hearth-gguf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tiny.gguf");
        std::fs::write(&file, good()).unwrap();
        let info = validate(&file).unwrap();
        assert_eq!(info.tensors.len(), 2);
        std::fs::write(&file, b"not a model").unwrap();
        assert!(
            matches!(validate(&file), Err(GgufError::Invalid { reason, .. }) if reason.starts_with("bad magic"))
        );
        assert!(matches!(
            validate(&dir.join("missing.gguf")),
            Err(GgufError::Io { .. })
        ));
        assert!(matches!(validate(&dir), Err(GgufError::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
