//! Paging a context's nodes.

use serde_json::Map;

use super::*;
use crate::contexts::model::{ContentType, Node};
fn context(sizes: &[usize]) -> Context {
    let nodes = sizes
        .iter()
        .enumerate()
        .map(|(i, size)| Node {
            node_id: format!("c-{}", i + 1),
            seq: i as u64 + 1,
            content: "x".repeat(*size),
            content_type: ContentType::Text,
            metadata: Map::new(),
            created_at: "t".into(),
        })
        .collect();
    Context {
        context_id: "c".into(),
        tenant: "t".into(),
        model_id: "m".into(),
        user_id: None,
        metadata: Map::new(),
        created_at: "t".into(),
        updated_at: "t".into(),
        expires_at: 0,
        nodes,
    }
}

fn seqs(p: &ContextPage) -> Vec<u64> {
    p.context.nodes.iter().map(|n| n.seq).collect()
}

#[test]
fn a_small_context_is_one_page_without_a_cursor() {
    let p = page(context(&[10, 10, 10]), 0, MAX_PAGE_NODES);
    assert_eq!((seqs(&p), p.next_cursor), (vec![1, 2, 3], None));
}

#[test]
fn a_context_larger_than_a_response_comes_in_pages_that_each_fit() {
    // GIVEN 8 nodes of 1 MB: 8 MB of nodes, more than a Lambda answer may carry
    let big = context(&[1_000_000; 8]);
    // WHEN it is read page by page
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let p = page(big.clone(), after, MAX_PAGE_NODES);
        let body = serde_json::to_string(&p).unwrap();
        // THEN each page fits, escaped once more, in 6 MB, and the pages hold every node once, in order
        assert!(serde_json::to_string(&body).unwrap().len() < 6_000_000);
        seen.extend(seqs(&p));
        match p.next_cursor {
            Some(c) => after = c.parse().unwrap(),
            None => break,
        }
    }
    assert_eq!(seen, (1..=8).collect::<Vec<_>>());
}

#[test]
fn limit_and_cursor_are_checked_and_page_by_node_count() {
    assert_eq!(node_paging(None, None), Ok((MAX_PAGE_NODES, 0)));
    assert_eq!(node_paging(Some("2"), Some("4")), Ok((2, 4)));
    assert_eq!(node_paging(Some("0"), None).unwrap_err().field, "limit");
    assert_eq!(node_paging(None, Some("x")).unwrap_err().field, "cursor");
    let p = page(context(&[1, 1, 1, 1, 1]), 2, 2);
    assert_eq!((seqs(&p), p.next_cursor.as_deref()), (vec![3, 4], Some("4")));
}
