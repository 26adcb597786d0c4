//! The ggml tensor-type table and llama.cpp's `general.file_type` names.

/// A ggml tensor type: elements per block and bytes per block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GgmlType {
    /// ggml's name for the type, e.g. `Q4_K`.
    pub name: &'static str,
    /// Elements per block.
    pub block: u64,
    /// Bytes per block.
    pub bytes: u64,
}

const fn t(name: &'static str, block: u64, bytes: u64) -> Option<GgmlType> {
    Some(GgmlType { name, block, bytes })
}

/// The ggml type table (`ggml_type` ids), from the `type_traits` of the llama.cpp that
/// `llama-cpp-sys-2` vendors (block sizes are `QK*` and bytes are `sizeof(block_*)` in
/// `ggml-common.h`). `None` marks ids that were removed or never assigned.
const GGML_TYPES: [Option<GgmlType>; 43] = [
    t("F32", 1, 4),        // 0
    t("F16", 1, 2),        // 1
    t("Q4_0", 32, 18),     // 2
    t("Q4_1", 32, 20),     // 3
    None,                  // 4: Q4_2, removed
    None,                  // 5: Q4_3, removed
    t("Q5_0", 32, 22),     // 6
    t("Q5_1", 32, 24),     // 7
    t("Q8_0", 32, 34),     // 8
    t("Q8_1", 32, 36),     // 9
    t("Q2_K", 256, 84),    // 10
    t("Q3_K", 256, 110),   // 11
    t("Q4_K", 256, 144),   // 12
    t("Q5_K", 256, 176),   // 13
    t("Q6_K", 256, 210),   // 14
    t("Q8_K", 256, 292),   // 15
    t("IQ2_XXS", 256, 66), // 16
    t("IQ2_XS", 256, 74),  // 17
    t("IQ3_XXS", 256, 98), // 18
    t("IQ1_S", 256, 50),   // 19
    t("IQ4_NL", 32, 18),   // 20
    t("IQ3_S", 256, 110),  // 21
    t("IQ2_S", 256, 82),   // 22
    t("IQ4_XS", 256, 136), // 23
    t("I8", 1, 1),         // 24
    t("I16", 1, 2),        // 25
    t("I32", 1, 4),        // 26
    t("I64", 1, 8),        // 27
    t("F64", 1, 8),        // 28
    t("IQ1_M", 256, 56),   // 29
    t("BF16", 1, 2),       // 30
    None,                  // 31: Q4_0_4_4, removed from GGUF files
    None,                  // 32: Q4_0_4_8, removed
    None,                  // 33: Q4_0_8_8, removed
    t("TQ1_0", 256, 54),   // 34
    t("TQ2_0", 256, 66),   // 35
    None,                  // 36: IQ4_NL_4_4, removed
    None,                  // 37: IQ4_NL_4_8, removed
    None,                  // 38: IQ4_NL_8_8, removed
    t("MXFP4", 32, 17),    // 39
    t("NVFP4", 64, 36),    // 40
    t("Q1_0", 128, 18),    // 41
    t("Q2_0", 64, 18),     // 42
];

/// The ggml type with this id, if llama.cpp still supports it.
pub fn ggml_type(id: u32) -> Option<GgmlType> {
    GGML_TYPES.get(id as usize).copied().flatten()
}

pub(crate) fn describe_bad_type(id: u32) -> String {
    let removed = match id {
        4 => "Q4_2",
        5 => "Q4_3",
        31 => "Q4_0_4_4",
        32 => "Q4_0_4_8",
        33 => "Q4_0_8_8",
        36 => "IQ4_NL_4_4",
        37 => "IQ4_NL_4_8",
        38 => "IQ4_NL_8_8",
        _ => return format!("unknown ggml type {id}"),
    };
    format!("ggml type {id} ({removed}), which llama.cpp no longer supports")
}

/// `general.file_type` (llama.cpp's `llama_ftype`) in Ollama's spelling.
pub fn file_type_name(id: u32) -> Option<&'static str> {
    Some(match id {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        // llama.cpp retired 4 (Q4_1_SOME_F16); Ollama reuses it for the MXFP4 files it writes.
        4 => "MXFP4",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4",
        39 => "NVFP4",
        40 => "Q1_0",
        41 => "Q2_0",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ggml_type_has_sane_traits() {
        for id in 0..GGML_TYPES.len() as u32 {
            if let Some(t) = ggml_type(id) {
                assert!(t.block.is_power_of_two() && t.bytes > 0, "{}", t.name);
            }
        }
        assert_eq!(
            ggml_type(12),
            Some(GgmlType {
                name: "Q4_K",
                block: 256,
                bytes: 144
            })
        );
        assert_eq!(ggml_type(43), None);
    }
}
