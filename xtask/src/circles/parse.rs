//! Reading one Rust file as far as the circle check needs: its `mod x;` children, the paths it names and the
//! names it re-exports. Comments, strings and `#[cfg(test)]` items are skipped.

/// What one file declares and names.
#[derive(Debug, Default, PartialEq)]
pub(super) struct ParsedModule {
    /// `mod x;` declarations (file modules), outside `#[cfg(test)]`.
    pub(super) children: Vec<String>,
    /// Every path that starts with `crate`, `super`, `self` or an identifier, with `use` groups expanded;
    /// [`absolute_path`] keeps those that start at a module.
    pub(super) paths: Vec<Vec<String>>,
    /// `pub use` items: the name each makes visible here, and the path it stands for.
    pub(super) reexports: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Open(char),
    Close(char),
    Punct(char),
}

pub(super) fn parse_module(source: &str) -> ParsedModule {
    let tokens = without_test_items(tokenize(source));
    let mut parsed = ParsedModule::default();
    let mut i = 0;
    while i < tokens.len() {
        let ident = |at: usize, word: &str| matches!(tokens.get(at), Some(Token::Ident(w)) if w == word);
        if ident(i, "mod")
            && let (Some(Token::Ident(name)), Some(Token::Punct(';'))) =
                (tokens.get(i + 1), tokens.get(i + 2))
        {
            parsed.children.push(name.clone());
            i += 3;
        } else if ident(i, "use") {
            let reexport = is_public_before(&tokens, i);
            let mut items = Vec::new();
            i = read_use_tree(&tokens, i + 1, Vec::new(), &mut items);
            for (path, name) in items {
                match name {
                    Some(name) if reexport => parsed.reexports.push((name, path)),
                    _ => parsed.paths.push(path),
                }
            }
        } else if matches!(tokens[i], Token::Ident(_))
            && tokens.get(i + 1) == Some(&Token::PathSep)
            && (i == 0 || tokens[i - 1] != Token::PathSep)
        {
            let mut items = Vec::new();
            i = read_use_tree(&tokens, i, Vec::new(), &mut items);
            parsed.paths.extend(items.into_iter().map(|(path, _)| path));
        } else {
            i += 1;
        }
    }
    parsed
}

/// Whether the `use` at `tokens[at]` is `pub use` or `pub(…) use`.
fn is_public_before(tokens: &[Token], at: usize) -> bool {
    let pub_at = match at.checked_sub(1).map(|i| &tokens[i]) {
        Some(Token::Close(')')) => tokens[..at]
            .iter()
            .rposition(|t| *t == Token::Open('('))
            .and_then(|open| open.checked_sub(1)),
        _ => at.checked_sub(1),
    };
    pub_at.is_some_and(|i| tokens[i] == Token::Ident("pub".into()))
}

/// Reads one use tree (or one plain path) from `tokens[start]` under `prefix`: each item's path and the name it
/// binds (`None` for a glob). Returns the index after it.
fn read_use_tree(
    tokens: &[Token],
    start: usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    let mut path = prefix;
    let mut i = start;
    if tokens.get(i) == Some(&Token::PathSep) {
        i += 1;
    }
    loop {
        match tokens.get(i) {
            Some(Token::Ident(segment)) => {
                path.push(segment.clone());
                i += 1;
            }
            Some(Token::Open('{')) => return read_use_group(tokens, i + 1, &path, out),
            Some(Token::Punct('*')) => {
                out.push((path, None));
                return i + 1;
            }
            _ => break,
        }
        if tokens.get(i) == Some(&Token::PathSep) {
            i += 1;
        } else {
            break;
        }
    }
    let mut name = path.last().cloned();
    if name.as_deref() == Some("self") {
        path.pop();
        name = path.last().cloned();
    }
    if matches!(tokens.get(i), Some(Token::Ident(word)) if word == "as")
        && let Some(Token::Ident(alias)) = tokens.get(i + 1)
    {
        name = Some(alias.clone());
        i += 2;
    }
    out.push((path, name));
    i
}

/// Reads the items of a `use` group after its `{`, each under `prefix`; returns the index after the `}`.
fn read_use_group(
    tokens: &[Token],
    start: usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    let mut i = start;
    while let Some(token) = tokens.get(i) {
        match token {
            Token::Close('}') => return i + 1,
            Token::Ident(_) | Token::Open('{') | Token::Punct('*') => {
                i = read_use_tree(tokens, i, prefix.to_vec(), out)
            }
            _ => i += 1,
        }
    }
    i
}

/// Drops every item marked `#[cfg(test)]`: up to its `;` or the end of its first `{...}` block.
fn without_test_items(tokens: Vec<Token>) -> Vec<Token> {
    let marker = [
        Token::Punct('#'),
        Token::Open('['),
        Token::Ident("cfg".into()),
        Token::Open('('),
        Token::Ident("test".into()),
        Token::Close(')'),
        Token::Close(']'),
    ];
    let mut kept = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if !tokens[i..].starts_with(&marker) {
            kept.push(tokens[i].clone());
            i += 1;
            continue;
        }
        i += marker.len();
        let mut depth = 0usize;
        while let Some(token) = tokens.get(i) {
            i += 1;
            match token {
                Token::Open('{') => depth += 1,
                Token::Close('}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                Token::Punct(';') if depth == 0 => break,
                _ => {}
            }
        }
    }
    kept
}

/// Identifiers, `::` and punctuation; comments, strings and character literals are skipped.
fn tokenize(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => i = skip_block_comment(&chars, i),
            '"' => i = skip_string(&chars, i + 1, 0),
            'r' if matches!(next, Some('"' | '#')) && raw_string_hashes(&chars, i + 1).is_some() => {
                let hashes = raw_string_hashes(&chars, i + 1).unwrap_or(0);
                i = skip_string(&chars, i + 2 + hashes, hashes);
            }
            '\'' => i = skip_char_or_lifetime(&chars, i),
            ':' if next == Some(':') => {
                tokens.push(Token::PathSep);
                i += 2;
            }
            '{' | '(' | '[' => {
                tokens.push(Token::Open(c));
                i += 1;
            }
            '}' | ')' | ']' => {
                tokens.push(Token::Close(c));
                i += 1;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            }
            c if c.is_whitespace() => i += 1,
            c => {
                tokens.push(Token::Punct(c));
                i += 1;
            }
        }
    }
    tokens
}

fn skip_block_comment(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => {
                depth += 1;
                i += 2;
            }
            ('*', '/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// The number of `#` in `r#"`, when `chars[start..]` opens a raw string.
fn raw_string_hashes(chars: &[char], start: usize) -> Option<usize> {
    let hashes = chars[start..].iter().take_while(|c| **c == '#').count();
    (chars.get(start + hashes) == Some(&'"')).then_some(hashes)
}

/// Skips a string whose body starts at `start`; a raw string (`hashes` > 0 or entered through `r"`) has no escapes,
/// which only matters for `\"`, so escapes are honoured only when `hashes` is 0 and the string is not raw.
fn skip_string(chars: &[char], start: usize, hashes: usize) -> usize {
    let raw = hashes > 0 || (start >= 2 && chars[start - 2] == 'r');
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '\\' if !raw => i += 2,
            '"' if chars[i + 1..].iter().take(hashes).filter(|c| **c == '#').count() == hashes => {
                return i + 1 + hashes;
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// `'a'` and `'\n'` are characters (skipped whole); `'a` is a lifetime (only its quote is skipped).
fn skip_char_or_lifetime(chars: &[char], start: usize) -> usize {
    match (chars.get(start + 1), chars.get(start + 2)) {
        (Some('\\'), _) => {
            let mut i = start + 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i + 1
        }
        (Some(_), Some('\'')) => start + 3,
        _ => start + 1,
    }
}
