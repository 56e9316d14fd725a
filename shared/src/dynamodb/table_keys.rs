//! How the mcpflow table's partition and sort keys are spelled: components joined with `#`, each
//! component escaped first, so that no caller-supplied value can reach into another key.
//!
//! Escaping percent-encodes exactly two characters in each component: `%` → `%25` and `#` → `%23`.
//! A joined key therefore has one `#` per boundary and no other, and decodes back to its components
//! in exactly one way: `("a#b", "c")` is `a%23b#c`, `("a", "b#c")` is `a#b%23c`. Every adapter builds
//! the keys that embed a tenant, an id, a name or any other value through [`join`]; fixed prefixes
//! (`TENANT`, `CTX`, `TASK`, …) are components like the others.
//!
//! Values that contain neither character (every valid tenant — see [`crate::tenant`] — and every id the
//! system mints) are spelled as before, so items written before this encoding keep their keys.

use std::borrow::Cow;

/// `component` with `%` and `#` percent-encoded (borrowed when it has neither).
#[must_use]
pub fn escape(component: &str) -> Cow<'_, str> {
    if !component.contains(['%', '#']) {
        return Cow::Borrowed(component);
    }
    let mut escaped = String::with_capacity(component.len() + 4);
    for c in component.chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '#' => escaped.push_str("%23"),
            other => escaped.push(other),
        }
    }
    Cow::Owned(escaped)
}

/// The key made of `components`: each one [`escape`]d, joined with `#`.
#[must_use]
pub fn join(components: &[&str]) -> String {
    let mut key = String::new();
    for (i, component) in components.iter().enumerate() {
        if i > 0 {
            key.push('#');
        }
        key.push_str(&escape(component));
    }
    key
}

/// A key prefix for `begins_with` on a sort key: the joined `components` and the `#` after them.
#[must_use]
pub fn prefix(components: &[&str]) -> String {
    let mut key = join(components);
    key.push('#');
    key
}

/// `TENANT#<tenant>`: the partition of a tenant's tasks, listings, keys, counters and registry.
#[must_use]
pub fn tenant_partition(tenant: &str) -> String {
    join(&["TENANT", tenant])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_separator_inside_a_component_cannot_move_the_boundary() {
        assert_ne!(join(&["a#b", "c"]), join(&["a", "b#c"]));
        assert_eq!(join(&["a#b", "c"]), "a%23b#c");
        assert_eq!(join(&["a", "b#c"]), "a#b%23c");
    }

    #[test]
    fn an_escape_inside_a_component_cannot_pass_for_a_separator() {
        // "a%23b" written literally must not meet "a#b" once escaped.
        assert_ne!(join(&["CTX", "a%23b"]), join(&["CTX", "a#b"]));
        assert_eq!(join(&["CTX", "a%23b"]), "CTX#a%2523b");
    }

    #[test]
    fn tenant_and_id_pairs_that_concatenate_alike_get_different_keys() {
        let pairs = [("a#b", "c"), ("a", "b#c"), ("a#", "b#c"), ("a", "#b#c"), ("a%", "23b")];
        let keys: std::collections::HashSet<String> = pairs.iter().map(|(t, id)| join(&["CTX", t, id])).collect();
        assert_eq!(keys.len(), pairs.len(), "{keys:?}");
    }

    #[test]
    fn plain_components_are_spelled_as_they_were_before_the_encoding() {
        assert_eq!(join(&["CTX", "acme", "ctx_0123abcd"]), "CTX#acme#ctx_0123abcd");
        assert_eq!(tenant_partition("own-1a2b"), "TENANT#own-1a2b");
        assert_eq!(prefix(&["TASK"]), "TASK#");
        assert!(matches!(escape("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn every_joined_key_has_exactly_one_separator_per_boundary() {
        let key = join(&["x#y", "%#%", "", "z"]);
        assert_eq!(key.matches('#').count(), 3, "{key}");
    }
}
