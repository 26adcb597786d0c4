//! A GGUF header rewriter for tests and fuzzing (feature `edit`): read a file's header, change
//! one metadata value or tensor-info field, and write the result with the original tensor data
//! (copied, or as a sparse hole when only the header matters). It trusts its input: use it on
//! files [`crate::validate`] accepts.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// A metadata value with its exact GGUF type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `u8`.
    U8(u8),
    /// `i8`.
    I8(i8),
    /// `u16`.
    U16(u16),
    /// `i16`.
    I16(i16),
    /// `u32`.
    U32(u32),
    /// `i32`.
    I32(i32),
    /// `f32`.
    F32(f32),
    /// `bool`.
    Bool(bool),
    /// `string`.
    Str(String),
    /// `u64`.
    U64(u64),
    /// `i64`.
    I64(i64),
    /// `f64`.
    F64(f64),
    /// An array: element type id and elements.
    Array(u32, Vec<Value>),
}

impl Value {
    fn type_id(&self) -> u32 {
        match self {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::Str(_) => 8,
            Value::Array(..) => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Value::U8(v) => out.push(*v),
            Value::I8(v) => out.extend(v.to_le_bytes()),
            Value::U16(v) => out.extend(v.to_le_bytes()),
            Value::I16(v) => out.extend(v.to_le_bytes()),
            Value::U32(v) => out.extend(v.to_le_bytes()),
            Value::I32(v) => out.extend(v.to_le_bytes()),
            Value::F32(v) => out.extend(v.to_le_bytes()),
            Value::Bool(v) => out.push(u8::from(*v)),
            Value::Str(s) => write_str(out, s),
            Value::U64(v) => out.extend(v.to_le_bytes()),
            Value::I64(v) => out.extend(v.to_le_bytes()),
            Value::F64(v) => out.extend(v.to_le_bytes()),
            Value::Array(t, items) => {
                out.extend(t.to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                for i in items {
                    i.write(out);
                }
            }
        }
    }
}

/// One tensor info, editable.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Name.
    pub name: String,
    /// Dimensions, innermost first.
    pub dims: Vec<u64>,
    /// ggml type id.
    pub ggml_type: u32,
    /// Offset in the data section.
    pub offset: u64,
}

/// How [`Gguf::write`] fills the tensor data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// Copy the original bytes (a file llama.cpp can really load).
    Copy,
    /// Leave a hole of the same length (a sparse file: enough for header checks).
    Sparse,
}

/// A parsed header plus where its tensor data lives in the source file.
#[derive(Debug, Clone)]
pub struct Gguf {
    /// GGUF version.
    pub version: u32,
    /// Metadata in file order.
    pub kvs: Vec<(String, Value)>,
    /// Tensor infos in file order.
    pub tensors: Vec<Tensor>,
    source: std::path::PathBuf,
    data_start: u64,
    data_len: u64,
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

struct R<T>(T);

impl<T: Read> R<T> {
    fn n<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0; N];
        self.0.read_exact(&mut b)?;
        Ok(b)
    }
    fn u32(&mut self) -> std::io::Result<u32> {
        self.n().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> std::io::Result<u64> {
        self.n().map(u64::from_le_bytes)
    }
    fn str(&mut self) -> std::io::Result<String> {
        let len = self.u64()?;
        let mut b = vec![0; usize::try_from(len).map_err(std::io::Error::other)?];
        self.0.read_exact(&mut b)?;
        String::from_utf8(b).map_err(std::io::Error::other)
    }
    fn value(&mut self, t: u32) -> std::io::Result<Value> {
        Ok(match t {
            0 => Value::U8(self.n::<1>()?[0]),
            1 => Value::I8(i8::from_le_bytes(self.n()?)),
            2 => Value::U16(u16::from_le_bytes(self.n()?)),
            3 => Value::I16(i16::from_le_bytes(self.n()?)),
            4 => Value::U32(self.u32()?),
            5 => Value::I32(i32::from_le_bytes(self.n()?)),
            6 => Value::F32(f32::from_le_bytes(self.n()?)),
            7 => Value::Bool(self.n::<1>()?[0] != 0),
            8 => Value::Str(self.str()?),
            9 => {
                let et = self.u32()?;
                let n = self.u64()?;
                let mut items = Vec::new();
                for _ in 0..n {
                    items.push(self.value(et)?);
                }
                Value::Array(et, items)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(i64::from_le_bytes(self.n()?)),
            12 => Value::F64(f64::from_le_bytes(self.n()?)),
            t => return Err(std::io::Error::other(format!("bad GGUF type {t}"))),
        })
    }
}

impl Gguf {
    /// Read the header of the GGUF file at `path`.
    ///
    /// # Errors
    /// When the file cannot be read or is not GGUF.
    pub fn open(path: &Path) -> std::io::Result<Gguf> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut r = R(BufReader::new(file));
        if &r.n::<4>()? != b"GGUF" {
            return Err(std::io::Error::other("not GGUF"));
        }
        let version = r.u32()?;
        let n_tensors = r.u64()?;
        let n_kv = r.u64()?;
        let mut kvs = Vec::new();
        for _ in 0..n_kv {
            let key = r.str()?;
            let t = r.u32()?;
            kvs.push((key, r.value(t)?));
        }
        let mut tensors = Vec::new();
        for _ in 0..n_tensors {
            let name = r.str()?;
            let n_dims = r.u32()?;
            let dims = (0..n_dims).map(|_| r.u64()).collect::<Result<_, _>>()?;
            let ggml_type = r.u32()?;
            let offset = r.u64()?;
            tensors.push(Tensor {
                name,
                dims,
                ggml_type,
                offset,
            });
        }
        let mut g = Gguf {
            version,
            kvs,
            tensors,
            source: path.to_owned(),
            data_start: 0,
            data_len: 0,
        };
        let header = r.0.stream_position()?;
        let align = g.alignment();
        g.data_start = header.div_ceil(align) * align;
        g.data_len = len.saturating_sub(g.data_start);
        Ok(g)
    }

    fn alignment(&self) -> u64 {
        match self.get("general.alignment") {
            Some(Value::U32(a)) if a.is_power_of_two() => u64::from(*a),
            _ => 32,
        }
    }

    /// A metadata value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.kvs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A metadata value to edit in place.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.kvs.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Set `key` to `value`, replacing it in place or appending it.
    pub fn set(&mut self, key: &str, value: Value) -> &mut Self {
        match self.get_mut(key) {
            Some(v) => *v = value,
            None => self.kvs.push((key.to_owned(), value)),
        }
        self
    }

    /// Remove `key`.
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.kvs.retain(|(k, _)| k != key);
        self
    }

    /// The tensor info named `name`, to edit.
    ///
    /// # Panics
    /// When there is no such tensor (a mistake in the calling test).
    pub fn tensor(&mut self, name: &str) -> &mut Tensor {
        self.tensors
            .iter_mut()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no tensor {name}"))
    }

    /// The serialized header, padded to the data alignment.
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(self.version.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.kvs.len() as u64).to_le_bytes());
        for (k, v) in &self.kvs {
            write_str(&mut out, k);
            out.extend(v.type_id().to_le_bytes());
            v.write(&mut out);
        }
        for t in &self.tensors {
            write_str(&mut out, &t.name);
            out.extend((t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend(d.to_le_bytes());
            }
            out.extend(t.ggml_type.to_le_bytes());
            out.extend(t.offset.to_le_bytes());
        }
        let align = self.alignment() as usize;
        out.resize(out.len().div_ceil(align) * align, 0);
        out
    }

    /// Write the edited file to `path`, with the source's tensor data.
    ///
    /// # Errors
    /// I/O errors.
    pub fn write(&self, path: &Path, data: Data) -> std::io::Result<()> {
        let header = self.header_bytes();
        let mut out = File::create(path)?;
        out.write_all(&header)?;
        match data {
            Data::Sparse => out.set_len(header.len() as u64 + self.data_len)?,
            Data::Copy => {
                let mut src = File::open(&self.source)?;
                src.seek(SeekFrom::Start(self.data_start))?;
                std::io::copy(&mut src.take(self.data_len), &mut out)?;
            }
        }
        out.sync_all()
    }
}

pub mod hostile;
