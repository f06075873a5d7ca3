//! Idioms oslo filters use, recognised in the tree: literal
//! alternatives, the appended `$`, the `DIR/(?!.*\.\.).*` path guard.

use super::parse::*;

/// The characters of a node if it only ever matches that one string.
pub(super) fn literal_text(node: &Node) -> Option<String> {
    match node {
        Node::Empty => Some(String::new()),
        Node::Char(c) => Some(c.to_string()),
        Node::Concat(items) => {
            let mut out = String::new();
            for item in items {
                out.push_str(&literal_text(item)?);
            }
            Some(out)
        }
        Node::Group(inner) => literal_text(inner),
        _ => None,
    }
}

/// The strings of an alternation of plain strings (`(a|b)` or `a|b`).
pub(super) fn literal_alternatives(node: &Node) -> Option<Vec<String>> {
    match node {
        Node::Alt(branches) => branches.iter().map(literal_text).collect(),
        Node::Group(inner) => literal_alternatives(inner),
        _ => None,
    }
}

/// Removes the `$` oslo appended (the last node of the last alternative).
pub(super) fn strip_appended_end(mut alternatives: Vec<Node>) -> Vec<Node> {
    if let Some(last) = alternatives.last_mut() {
        match last {
            Node::End => *last = Node::Empty,
            Node::Concat(items) => {
                if items.last() == Some(&Node::End) {
                    items.pop();
                }
                if items.len() == 1 {
                    let only = items.pop().unwrap_or(Node::Empty);
                    *last = only;
                } else if items.is_empty() {
                    *last = Node::Empty;
                }
            }
            _ => {}
        }
    }
    alternatives
}

/// `DIR/(?!<anything with \.\.>).*`, the corpus's way of saying "a path
/// under DIR": returns DIR.
pub(super) fn lookahead_path(alternatives: &[Node]) -> Option<String> {
    let [Node::Concat(items)] = alternatives else {
        return None;
    };
    let look = items.iter().position(|n| matches!(n, Node::Look { .. }))?;
    let (prefix, rest) = items.split_at(look);
    let Node::Look {
        ahead: true,
        negated: true,
        node,
    } = &rest[0]
    else {
        return None;
    };
    let guards_dotdot = is_dotdot_guard(node);
    let tail_is_anything = matches!(
        rest.get(1..),
        Some([Node::Repeat { node, min: 0 | 1, max: None, .. }]) if **node == Node::Any
    );
    let dir = literal_text(&Node::Concat(prefix.to_vec()))?;
    let dir = dir.strip_suffix('/')?;
    let normalized = dir.starts_with('/')
        && !dir.is_empty()
        && dir[1..]
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    let plain = dir
        .chars()
        .all(|c| !c.is_whitespace() && !"|<>*\"".contains(c));
    (guards_dotdot && tail_is_anything && normalized && plain).then(|| dir.to_string())
}

/// Whether a lookahead body is exactly one of the two `..` guards the
/// corpus uses, `\.\.` and `.*/\.\.`: only then does the path constraint
/// mean the same thing. A body that excludes anything else (`\.\.|shadow`)
/// cannot become a path rule.
pub(super) fn is_dotdot_guard(node: &Node) -> bool {
    let any_run =
        |n: &Node| matches!(n, Node::Repeat { node, min: 0, max: None, .. } if **node == Node::Any);
    match node {
        Node::Group(inner) => is_dotdot_guard(inner),
        Node::Concat(items) => match items.as_slice() {
            [Node::Char('.'), Node::Char('.')] => true,
            [run, Node::Char('/'), Node::Char('.'), Node::Char('.')] => any_run(run),
            _ => false,
        },
        _ => false,
    }
}
