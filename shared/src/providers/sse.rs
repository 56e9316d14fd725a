//! Server-sent events, as LLM providers stream them: `event:` and `data:` lines, a blank line ends an
//! event. Bytes arrive in arbitrary chunks, so the parser keeps the unfinished line.

/// One event: its `event:` name (if any) and its `data:` lines joined with newlines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub name: Option<String>,
    pub data: String,
}

/// Incremental SSE parser.
#[derive(Debug, Default)]
pub struct Parser {
    line: Vec<u8>,
    name: Option<String>,
    data: Vec<String>,
}

impl Parser {
    /// Feeds a chunk of bytes and returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        for &byte in chunk {
            if byte != b'\n' {
                self.line.push(byte);
                continue;
            }
            let line = String::from_utf8_lossy(&self.line).trim_end_matches('\r').to_owned();
            self.line.clear();
            if let Some(event) = self.line_done(&line) {
                events.push(event);
            }
        }
        events
    }

    fn line_done(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            if self.data.is_empty() && self.name.is_none() {
                return None;
            }
            return Some(Event {
                name: self.name.take(),
                data: std::mem::take(&mut self.data).join("\n"),
            });
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.name = Some(value.to_owned()),
            "data" => self.data.push(value.to_owned()),
            _ => {} // comments (`: ping`), `id:` and `retry:` carry nothing a completion needs
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_are_reassembled() {
        let mut p = Parser::default();
        assert!(p.feed(b"event: message_start\r\ndata: {\"a\"").is_empty());
        let events = p.feed(b":1}\r\n\r\n: ping\n\ndata: [DONE]\n\n");
        assert_eq!(
            events,
            [
                Event {
                    name: Some("message_start".into()),
                    data: "{\"a\":1}".into()
                },
                Event {
                    name: None,
                    data: "[DONE]".into()
                }
            ]
        );
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        let mut p = Parser::default();
        assert_eq!(p.feed(b"data: a\ndata: b\n\n")[0].data, "a\nb");
    }
}
