//! The formats of the ids a caller names in a path (or an MCP request), checked before any I/O.
//!
//! | id | minted as | format |
//! | --- | --- | --- |
//! | context | [`crate::ids::new_id`] | `ctx_` and 28 lowercase hex digits |
//! | task | the same | `task_` and 28 lowercase hex digits |
//! | agent | the same | `agt_` and 28 lowercase hex digits |
//! | pipeline | the same | `pln_` and 28 lowercase hex digits |
//! | pipeline execution | the same | `exe_` and 28 lowercase hex digits |
//! | integration | the same | `itg_` and 28 lowercase hex digits |
//! | completion | its task's id | `task_` and 28 lowercase hex digits |
//! | node | its context id and sequence number | `<context id>-<1 to 10 digits, no leading 0>` |
//! | API key | [`crate::auth::apikey::generate`] | 16 lowercase hex digits |
//! | registered tool or prompt | its registration | 1 to 64 letters, digits, `_` or `-` |
//! | registered resource | its registration | a URI of 1 to 512 bytes without blanks or controls |
//!
//! An id that breaks its format cannot name anything, so it is answered like an unknown one — `404`
//! with the normal not-found code — but without repeating it: the message states the format instead.
//! A name the caller chose (a registered tool's, prompt's or resource's) that breaks its format is the
//! caller's mistake, as it would be when registering it: `400`, again without repeating it.

use crate::registered::Kind;

/// Hex digits after `ctx_` or `task_` (12 of creation milliseconds, 16 random).
pub const MINTED_HEX_DIGITS: usize = 28;

/// What a path parameter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Context,
    Task,
    Node,
    Key,
    Agent,
    Pipeline,
    Execution,
    Integration,
    Completion,
    Registered(Kind),
}

/// An id that breaks its format; the message says what the format is and never repeats the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no {} with that id: {}", .0.noun(), .0.shape())]
pub struct MalformedId(pub IdKind);

fn hex(s: &str, digits: usize) -> bool {
    s.len() == digits && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn minted(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| hex(rest, MINTED_HEX_DIGITS))
}

fn sequence(s: &str) -> bool {
    (1..=10).contains(&s.len()) && !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit())
}

impl IdKind {
    /// The path parameter that holds this kind of id in `template.yaml`.
    #[must_use]
    pub fn param(self) -> &'static str {
        match self {
            Self::Context => "contextID",
            Self::Task => "taskID",
            Self::Node => "nodeID",
            Self::Key => "keyID",
            Self::Agent => "agentID",
            Self::Pipeline => "pipelineID",
            Self::Execution => "executionID",
            Self::Integration => "integrationID",
            Self::Completion => "completionID",
            Self::Registered(Kind::Resource) => "uri",
            Self::Registered(_) => "name",
        }
    }

    /// Whether `id` has this kind's format.
    #[must_use]
    pub fn matches(self, id: &str) -> bool {
        match self {
            Self::Context => minted(id, "ctx_"),
            Self::Task => minted(id, "task_"),
            Self::Node => id
                .rsplit_once('-')
                .is_some_and(|(context, seq)| minted(context, "ctx_") && sequence(seq)),
            Self::Key => hex(id, 16),
            Self::Agent => minted(id, "agt_"),
            Self::Pipeline => minted(id, "pln_"),
            Self::Execution => minted(id, "exe_"),
            Self::Integration => minted(id, "itg_"),
            Self::Completion => minted(id, "task_"),
            Self::Registered(Kind::Resource) => {
                (1..=512).contains(&id.len()) && !id.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            Self::Registered(_) => {
                (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            }
        }
    }

    /// `id`, when it has this kind's format.
    ///
    /// # Errors
    /// [`MalformedId`] when it does not.
    pub fn check(self, id: &str) -> Result<&str, MalformedId> {
        if self.matches(id) {
            Ok(id)
        } else {
            Err(MalformedId(self))
        }
    }

    /// The error code of an id of this kind that names nothing.
    #[must_use]
    pub fn not_found_code(self) -> &'static str {
        match self {
            Self::Context => "CONTEXT_NOT_FOUND",
            Self::Task => "TASK_NOT_FOUND",
            Self::Node => "NODE_NOT_FOUND",
            Self::Key => "KEY_NOT_FOUND",
            Self::Agent => "AGENT_NOT_FOUND",
            Self::Pipeline => "PIPELINE_NOT_FOUND",
            Self::Execution => "EXECUTION_NOT_FOUND",
            Self::Integration => "INTEGRATION_NOT_FOUND",
            Self::Completion => "COMPLETION_NOT_FOUND",
            Self::Registered(kind) => kind.not_found_code(),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Context => "context",
            Self::Task => "task",
            Self::Node => "node",
            Self::Key => "API key",
            Self::Agent => "agent",
            Self::Pipeline => "pipeline",
            Self::Execution => "execution",
            Self::Integration => "integration",
            Self::Completion => "completion",
            Self::Registered(Kind::Tool) => "tool",
            Self::Registered(Kind::Prompt) => "prompt",
            Self::Registered(Kind::Resource) => "resource",
        }
    }

    /// What the format is, in words.
    #[must_use]
    pub fn shape(self) -> &'static str {
        match self {
            Self::Context => "context ids are ctx_ and 28 lowercase hex digits",
            Self::Task => "task ids are task_ and 28 lowercase hex digits",
            Self::Node => "node ids are <context id>-<sequence number>",
            Self::Key => "key ids are 16 lowercase hex digits",
            Self::Agent => "agent ids are agt_ and 28 lowercase hex digits",
            Self::Pipeline => "pipeline ids are pln_ and 28 lowercase hex digits",
            Self::Execution => "execution ids are exe_ and 28 lowercase hex digits",
            Self::Integration => "integration ids are itg_ and 28 lowercase hex digits",
            Self::Completion => "completion ids are task_ and 28 lowercase hex digits",
            Self::Registered(Kind::Resource) => {
                "resource URIs are 1 to 512 bytes without blanks (percent-encoded in the path)"
            }
            Self::Registered(_) => "names are 1 to 64 letters, digits, _ or -",
        }
    }
}

/// A time-sortable id: creation milliseconds (hex, fixed width) and 8 random bytes.
///
/// # Errors
/// When the random source fails.
pub fn new_id(prefix: &str, now_ms: i64) -> Result<String, getrandom::Error> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random)?;
    let tail: String = random.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}_{now_ms:012x}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: &str = "ctx_01a20398562e8ffe8d2b5fd22c0c";
    const TASK: &str = "task_01a20398582b88827d829519aa87";

    #[test]
    fn ids_the_system_mints_have_their_format() {
        let minted = new_id("ctx", 1_795_961_444_910).unwrap();
        assert!(IdKind::Context.matches(&minted), "{minted}");
        let key = crate::auth::apikey::generate().unwrap().key_id;
        assert!(IdKind::Key.matches(&key), "{key}");
        assert!(IdKind::Context.matches(CTX) && IdKind::Task.matches(TASK));
        assert!(IdKind::Node.matches(&format!("{CTX}-1")) && IdKind::Node.matches(&format!("{CTX}-1000")));
        assert!(IdKind::Registered(Kind::Tool).matches("get_weather-2"));
        assert!(IdKind::Registered(Kind::Resource).matches("matrix://r-1#frag%20x"));
    }

    #[test]
    fn malformed_and_over_long_ids_are_refused() {
        let long = format!("{CTX}{}", "0".repeat(10_000));
        for (kind, id) in [
            (IdKind::Context, ""),
            (IdKind::Context, "ctx_none"),
            (IdKind::Context, long.as_str()),
            (IdKind::Context, "ctx_01A20398562E8FFE8D2B5FD22C0C"),
            (IdKind::Context, "ctx_01a20398562e8ffe8d2b5fd22c0c#x"),
            (IdKind::Context, TASK),
            (IdKind::Task, CTX),
            (IdKind::Task, "task_%23"),
            (IdKind::Node, CTX),
            (IdKind::Node, "ctx_01a20398562e8ffe8d2b5fd22c0c-0"),
            (IdKind::Node, "ctx_01a20398562e8ffe8d2b5fd22c0c-01"),
            (IdKind::Node, "ctx_01a20398562e8ffe8d2b5fd22c0c-12345678901"),
            (IdKind::Key, "0123456789abcdeg"),
            (IdKind::Key, "0123456789abcdef0"),
            (IdKind::Registered(Kind::Tool), "a#b"),
            (IdKind::Registered(Kind::Prompt), &"p".repeat(65)),
            (IdKind::Registered(Kind::Resource), "x:// y"),
            (IdKind::Registered(Kind::Resource), &"r".repeat(513)),
        ] {
            assert_eq!(kind.check(id), Err(MalformedId(kind)), "{kind:?} {id:.40}");
        }
    }

    #[test]
    fn the_refusal_states_the_format_without_repeating_the_id() {
        let id = format!("ctx_{}", "evil".repeat(1000));
        let message = IdKind::Context.check(&id).unwrap_err().to_string();
        assert_eq!(
            message,
            "no context with that id: context ids are ctx_ and 28 lowercase hex digits"
        );
        assert_eq!(IdKind::Registered(Kind::Tool).not_found_code(), "TOOL_NOT_FOUND");
        assert_eq!(IdKind::Node.param(), "nodeID");
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let a = new_id("ctx", 1_700_000_000_000).unwrap();
        let b = new_id("ctx", 1_700_000_000_001).unwrap();
        assert!(a < b && a.starts_with("ctx_"));
    }
}
