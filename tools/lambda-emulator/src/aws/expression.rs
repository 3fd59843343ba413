//! Just enough of DynamoDB's expression grammar for IAM's condition keys: which top-level
//! attributes an expression names (`dynamodb:Attributes`) and which value its key condition
//! gives the partition key (`dynamodb:LeadingKeys`).

use serde_json::{Map, Value};

/// Words of the grammar that are not attribute names.
const KEYWORDS: [&str; 9] = [
    "AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE",
];

/// One token of an expression, as far as the condition keys care.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A document path, by its top-level attribute name (`#n` resolved).
    Path(String),
    /// A value placeholder (`:v`).
    Value(String),
    /// `=`.
    Equals,
    /// Anything else (operators, functions, keywords, punctuation).
    Other,
}

/// The top-level attribute names `expression` names, `#names` resolved through `names`.
pub(super) fn attributes(expression: &str, names: &Map<String, Value>) -> Vec<String> {
    tokens(expression, names)
        .into_iter()
        .filter_map(|t| match t {
            Token::Path(name) => Some(name),
            _ => None,
        })
        .collect()
}

/// The placeholder `key_condition` compares `partition_key` to with `=` (`:pk`).
pub(super) fn equality_value(
    key_condition: &str,
    names: &Map<String, Value>,
    partition_key: &str,
) -> Option<String> {
    let tokens = tokens(key_condition, names);
    tokens.windows(3).find_map(|w| match w {
        [Token::Path(name), Token::Equals, Token::Value(v)]
        | [Token::Value(v), Token::Equals, Token::Path(name)]
            if name == partition_key =>
        {
            Some(v.clone())
        }
        _ => None,
    })
}

fn tokens(expression: &str, names: &Map<String, Value>) -> Vec<Token> {
    let chars: Vec<char> = expression.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' || is_word_start(c) {
            let (word, end) = word(&chars, if c == '#' { i + 1 } else { i });
            let next = chars[end..].iter().find(|c| !c.is_whitespace());
            if c != '#' && (next == Some(&'(') || is_keyword(&word)) {
                out.push(Token::Other);
                i = end;
                continue;
            }
            let name = if c == '#' {
                let placeholder = format!("#{word}");
                match names.get(&placeholder).and_then(Value::as_str) {
                    Some(name) => name.to_owned(),
                    None => placeholder,
                }
            } else {
                word
            };
            out.push(Token::Path(name));
            i = skip_path_rest(&chars, end);
        } else if c == ':' {
            let (word, end) = word(&chars, i + 1);
            out.push(Token::Value(format!(":{word}")));
            i = end;
        } else if c == '=' {
            out.push(Token::Equals);
            i += 1;
        } else if matches!(c, '<' | '>' | '!') {
            // `<`, `<=`, `<>`, `>`, `>=`: one comparison, never an equality.
            out.push(Token::Other);
            i += if matches!(chars.get(i + 1), Some('=' | '>')) {
                2
            } else {
                1
            };
        } else {
            out.push(Token::Other);
            i += 1;
        }
    }
    out
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// The word starting at `start` and the index after it.
fn word(chars: &[char], start: usize) -> (String, usize) {
    let end = chars[start.min(chars.len())..]
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(chars.len(), |p| start + p);
    (chars[start.min(end)..end].iter().collect(), end)
}

/// Skips `.name`, `.#name` and `[n]` parts of a path after its first name.
fn skip_path_rest(chars: &[char], mut i: usize) -> usize {
    loop {
        match chars.get(i) {
            Some('.') => {
                let start = if chars.get(i + 1) == Some(&'#') {
                    i + 2
                } else {
                    i + 1
                };
                i = word(chars, start).1;
            }
            Some('[') => {
                i = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .map_or(chars.len(), |p| i + p + 1);
            }
            _ => return i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn names_are_resolved_and_only_the_top_level_attribute_counts() {
        let n = names(json!({"#s": "status", "#m": "metadata", "#k": "key"}));
        let update = "SET #s = :revoked, #m.#k = :v, counts[2] = if_not_exists(hits, :zero) + :one REMOVE expires_at ADD #x :one";
        assert_eq!(
            attributes(update, &n),
            ["status", "metadata", "counts", "hits", "expires_at", "#x"]
        );
    }

    #[test]
    fn functions_keywords_and_comparisons_are_not_attributes() {
        let n = names(json!({"#o": "owner"}));
        let condition = "attribute_exists(pk) AND NOT begins_with(#o, :p) OR size(tags) <> :n AND created BETWEEN :a AND :b";
        assert_eq!(
            attributes(condition, &n),
            ["pk", "owner", "tags", "created"]
        );
    }

    #[test]
    fn the_partition_key_equality_is_found_on_either_side() {
        let n = names(json!({"#pk": "owner_pk", "#sk": "created_sk"}));
        assert_eq!(
            equality_value("#pk = :owner AND #sk < :before", &n, "owner_pk").as_deref(),
            Some(":owner")
        );
        assert_eq!(
            equality_value(":owner=owner_pk", &n, "owner_pk").as_deref(),
            Some(":owner")
        );
        assert_eq!(equality_value("#sk = :x", &n, "owner_pk"), None);
        assert_eq!(equality_value("#pk <= :x", &n, "owner_pk"), None);
    }
}
