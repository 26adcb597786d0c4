//! Turning token bytes into output text: whole UTF-8 characters only, and stop sequences held
//! back until they can be ruled out, so a stop string is never emitted even when split across tokens.

/// Incremental text assembly for one generation.
#[derive(Debug, Default)]
pub(crate) struct TextStream {
    /// Bytes of an incomplete UTF-8 character.
    partial: Vec<u8>,
    /// Decoded text not yet emitted because it may be the start of a stop sequence.
    held: String,
    stops: Vec<String>,
}

/// What one push produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Pushed {
    /// Text safe to emit now (may be empty).
    pub text: String,
    /// A stop sequence was found: `text` ends right before it and generation must end.
    pub stopped: bool,
}

impl TextStream {
    pub(crate) fn new(stops: &[String]) -> Self {
        Self {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            ..Self::default()
        }
    }

    /// Add the bytes of one token.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Pushed {
        self.partial.extend_from_slice(bytes);
        self.decode_partial();
        if let Some(at) = self.earliest_stop() {
            self.held.truncate(at);
            return Pushed {
                text: std::mem::take(&mut self.held),
                stopped: true,
            };
        }
        let keep = self.stop_prefix_len();
        let text = self.held[..self.held.len() - keep].to_owned();
        self.held.drain(..self.held.len() - keep);
        Pushed {
            text,
            stopped: false,
        }
    }

    /// Everything still held at the end of generation (an incomplete character becomes U+FFFD).
    pub(crate) fn finish(&mut self) -> String {
        if !self.partial.is_empty() {
            self.held.push_str(&String::from_utf8_lossy(&self.partial));
            self.partial.clear();
        }
        std::mem::take(&mut self.held)
    }

    /// Move every complete character from `partial` to `held`; invalid bytes become U+FFFD.
    fn decode_partial(&mut self) {
        let mut start = 0;
        loop {
            match std::str::from_utf8(&self.partial[start..]) {
                Ok(s) => {
                    self.held.push_str(s);
                    self.partial.clear();
                    return;
                }
                Err(e) => {
                    let valid = start + e.valid_up_to();
                    // The prefix was just validated by from_utf8.
                    self.held
                        .push_str(&String::from_utf8_lossy(&self.partial[start..valid]));
                    match e.error_len() {
                        Some(bad) => {
                            self.held.push(char::REPLACEMENT_CHARACTER);
                            start = valid + bad;
                        }
                        None => {
                            self.partial.drain(..valid);
                            return;
                        }
                    }
                }
            }
        }
    }

    fn earliest_stop(&self) -> Option<usize> {
        self.stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min()
    }

    /// Length of the longest tail of `held` that is a proper prefix of some stop sequence.
    fn stop_prefix_len(&self) -> usize {
        let mut best = 0;
        for stop in &self.stops {
            for (i, _) in stop.char_indices().skip(1) {
                if i > best && self.held.ends_with(&stop[..i]) {
                    best = i;
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&[u8]]) -> (String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut stream = TextStream::new(&stops);
        let mut out = String::new();
        for piece in pieces {
            let pushed = stream.push(piece);
            out.push_str(&pushed.text);
            if pushed.stopped {
                return (out, true);
            }
        }
        out.push_str(&stream.finish());
        (out, false)
    }

    #[test]
    fn plain_text_passes_through() {
        assert_eq!(
            run(&[], &[b"Hello", b", world"]),
            ("Hello, world".into(), false)
        );
    }

    #[test]
    fn multibyte_characters_split_across_tokens_stay_whole() {
        let euro = "€".as_bytes();
        let stops: Vec<String> = vec![];
        let mut stream = TextStream::new(&stops);
        assert_eq!(stream.push(&euro[..1]).text, "");
        assert_eq!(stream.push(&euro[1..2]).text, "");
        assert_eq!(stream.push(&euro[2..]).text, "€");
    }

    #[test]
    fn stop_split_across_tokens_is_never_emitted() {
        assert_eq!(
            run(&["END"], &[b"abc E", b"N", b"D tail"]),
            ("abc ".into(), true)
        );
    }

    #[test]
    fn held_prefix_is_released_when_it_is_not_a_stop() {
        assert_eq!(run(&["END"], &[b"an E", b"gg"]), ("an Egg".into(), false));
    }

    #[test]
    fn earliest_of_several_stops_wins() {
        assert_eq!(
            run(&["world", "lo"], &[b"hello world"]),
            ("hel".into(), true)
        );
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        assert_eq!(run(&[], &[b"a\xffb"]), ("a\u{FFFD}b".into(), false));
    }

    #[test]
    fn unfinished_character_at_end_is_replaced() {
        assert_eq!(
            run(&[], &[b"x", &"€".as_bytes()[..2]]),
            ("x\u{FFFD}".into(), false)
        );
    }
}
