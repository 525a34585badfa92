//! `cargo xtask circles`: no module reaches, through its imports, back to itself.
//!
//! Every crate root (`lib.rs`, `main.rs`) under `crates/*/src`, `xtask/src` and `xtask/*/src` is walked through its
//! `mod` declarations, one module per file. A module depends on another when it names an item through it:
//! `crate::a::b`, `super::b`, `self::b`, or `b::…` for a child declared with `mod b;`. A path counts for the longest
//! prefix that is a module file, so a child that imports `super::Thing` from its facade depends on the facade:
//! a facade `mod.rs` that uses its children and also holds the types they import is a circle here, and shared types
//! belong in files named after them. A re-export (`pub use a::Thing`) is followed to where `Thing` lives and is not a
//! dependency of the module that re-exports it, so `crate::Error` from anywhere points at `error.rs`. `mod`
//! declarations alone are structure, not dependencies; items under `#[cfg(test)]` are left out, because a unit-test
//! module reaching back up is how unit tests work.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// A module's path inside its crate: `[]` for the root, `["server", "echo"]` for `server/echo.rs`.
type ModulePath = Vec<String>;

/// One crate root's modules: which file holds each, and which paths it names through which other module.
struct ModuleGraph {
    files: BTreeMap<ModulePath, PathBuf>,
    /// For each module, the modules it depends on, each with the first path that showed it.
    uses: BTreeMap<ModulePath, BTreeMap<ModulePath, String>>,
}

/// Prints every import circle in the workspace; fails when there is one.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let report = check_workspace(root)?;
    print!("{}", report.text);
    if report.circles > 0 {
        bail!(
            "{} import circle(s): move the types both sides need into a file named after them",
            report.circles
        );
    }
    Ok(())
}

/// What [`run`] prints, and how many circles it found.
pub struct Report {
    pub text: String,
    pub circles: usize,
}

pub fn check_workspace(root: &Path) -> anyhow::Result<Report> {
    let mut text = String::new();
    let mut circles = 0;
    let mut modules = 0;
    for src in source_dirs(root)? {
        for crate_root in ["lib.rs", "main.rs"].map(|name| src.join(name)) {
            if !crate_root.is_file() {
                continue;
            }
            let graph = ModuleGraph::read(&crate_root)?;
            modules += graph.files.len();
            for circle in graph.circles() {
                circles += 1;
                text += &graph.describe(root, &circle);
            }
        }
    }
    if circles == 0 {
        text += &format!("no import circles among {modules} modules\n");
    }
    Ok(Report { text, circles })
}

/// `crates/*/src`, `xtask/src` and `xtask/*/src`, sorted.
fn source_dirs(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = vec![root.join("xtask/src")];
    for parent in [root.join("crates"), root.join("xtask")] {
        let entries =
            std::fs::read_dir(&parent).with_context(|| format!("cannot list {}", parent.display()))?;
        for entry in entries {
            let src = entry?.path().join("src");
            if src.is_dir() {
                dirs.push(src);
            }
        }
    }
    dirs.sort();
    dirs.dedup();
    Ok(dirs)
}

impl ModuleGraph {
    /// Walks the `mod` declarations from `crate_root` and reads every module's paths.
    fn read(crate_root: &Path) -> anyhow::Result<Self> {
        let mut graph = ModuleGraph {
            files: BTreeMap::new(),
            uses: BTreeMap::new(),
        };
        let mut paths_by_module = BTreeMap::new();
        let mut pending = vec![(ModulePath::new(), crate_root.to_path_buf())];
        while let Some((module, file)) = pending.pop() {
            let source =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let parsed = parse_module(&source);
            let children_dir = children_dir(&file);
            for child in &parsed.children {
                let flat = children_dir.join(format!("{child}.rs"));
                let nested = children_dir.join(child).join("mod.rs");
                let child_file = if flat.is_file() { flat } else { nested };
                let mut child_path = module.clone();
                child_path.push(child.clone());
                pending.push((child_path, child_file));
            }
            paths_by_module.insert(module.clone(), parsed);
            graph.files.insert(module, file);
        }
        let reexports: BTreeMap<ModulePath, BTreeMap<String, ModulePath>> = paths_by_module
            .iter()
            .map(|(module, parsed)| {
                let names = parsed
                    .reexports
                    .iter()
                    .filter_map(|(name, path)| {
                        Some((name.clone(), absolute_path(module, path, &parsed.children)?))
                    })
                    .collect();
                (module.clone(), names)
            })
            .collect();
        for (module, parsed) in &paths_by_module {
            let mut targets = BTreeMap::new();
            for path in &parsed.paths {
                let Some(absolute) = absolute_path(module, path, &parsed.children) else {
                    continue;
                };
                if let Some(target) = graph.defining_module(absolute, &reexports)
                    && target != *module
                {
                    targets.entry(target).or_insert_with(|| path.join("::"));
                }
            }
            graph.uses.insert(module.clone(), targets);
        }
        Ok(graph)
    }

    /// The module an absolute path names an item of: the longest prefix that is a module file, followed through
    /// that module's re-exports (a bounded number of times, in case two re-export each other).
    fn defining_module(
        &self,
        mut path: ModulePath,
        reexports: &BTreeMap<ModulePath, BTreeMap<String, ModulePath>>,
    ) -> Option<ModulePath> {
        for _ in 0..16 {
            let owner = (0..=path.len())
                .rev()
                .map(|len| path[..len].to_vec())
                .find(|prefix| self.files.contains_key(prefix))?;
            let rest = &path[owner.len()..];
            match rest.split_first() {
                Some((name, tail)) if reexports[&owner].contains_key(name) => {
                    let mut target = reexports[&owner][name].clone();
                    target.extend(tail.iter().cloned());
                    path = target;
                }
                _ => return Some(owner),
            }
        }
        None
    }

    /// The strongly connected groups of two or more modules (Tarjan's algorithm), each sorted.
    fn circles(&self) -> Vec<Vec<ModulePath>> {
        let mut search = Tarjan {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            next: 0,
            found: Vec::new(),
        };
        for module in self.files.keys() {
            if !search.index.contains_key(module) {
                search.visit(module);
            }
        }
        search.found
    }

    /// The circle's files and, for each import inside it, the path that makes it.
    fn describe(&self, workspace: &Path, circle: &[ModulePath]) -> String {
        let shown = |module: &ModulePath| {
            let file = &self.files[module];
            file.strip_prefix(workspace).unwrap_or(file).display().to_string()
        };
        let members: Vec<String> = circle.iter().map(shown).collect();
        let mut text = format!("import circle: {}\n", members.join(" <-> "));
        for from in circle {
            for (to, path) in &self.uses[from] {
                if circle.contains(to) {
                    text += &format!("  {} uses {path} ({})\n", shown(from), shown(to));
                }
            }
        }
        text
    }
}

struct Tarjan<'a> {
    graph: &'a ModuleGraph,
    index: BTreeMap<ModulePath, usize>,
    low: BTreeMap<ModulePath, usize>,
    stack: Vec<ModulePath>,
    on_stack: BTreeSet<ModulePath>,
    next: usize,
    found: Vec<Vec<ModulePath>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, module: &ModulePath) {
        self.index.insert(module.clone(), self.next);
        self.low.insert(module.clone(), self.next);
        self.next += 1;
        self.stack.push(module.clone());
        self.on_stack.insert(module.clone());
        for target in self.graph.uses[module].keys() {
            if !self.index.contains_key(target) {
                self.visit(target);
                let low = self.low[module].min(self.low[target]);
                self.low.insert(module.clone(), low);
            } else if self.on_stack.contains(target) {
                let low = self.low[module].min(self.index[target]);
                self.low.insert(module.clone(), low);
            }
        }
        if self.low[module] == self.index[module] {
            let mut group = Vec::new();
            while let Some(member) = self.stack.pop() {
                self.on_stack.remove(&member);
                let done = member == *module;
                group.push(member);
                if done {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                self.found.push(group);
            }
        }
    }
}

/// Where `mod x;` in `file` looks for `x.rs`: beside a root or `mod.rs`, in a folder named after any other file.
fn children_dir(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
    match file.file_name().and_then(|name| name.to_str()) {
        Some("lib.rs" | "main.rs" | "mod.rs") => dir,
        _ => dir.join(file.file_stem().unwrap_or_default()),
    }
}

/// `path` as written in `module` (starting with `crate`, `super`, `self` or a child's name), from the crate root;
/// `None` when it leaves the crate (a `super` above the root).
fn absolute_path(module: &[String], path: &[String], children: &[String]) -> Option<ModulePath> {
    let (first, rest) = path.split_first()?;
    let mut base: ModulePath = match first.as_str() {
        "crate" => Vec::new(),
        "self" => module.to_vec(),
        "super" => module.split_last()?.1.to_vec(),
        child if children.iter().any(|c| c == child) => {
            let mut base = module.to_vec();
            base.push(child.to_string());
            base
        }
        _ => return None,
    };
    let mut rest = rest;
    while let Some(("super", tail)) = rest.split_first().map(|(s, t)| (s.as_str(), t)) {
        base.pop()?;
        rest = tail;
    }
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(base)
}

/// What one file declares and names.
#[derive(Debug, Default, PartialEq)]
struct ParsedModule {
    /// `mod x;` declarations (file modules), outside `#[cfg(test)]`.
    children: Vec<String>,
    /// Every path that starts with `crate`, `super`, `self` or an identifier, with `use` groups expanded;
    /// [`absolute_path`] keeps those that start at a module.
    paths: Vec<Vec<String>>,
    /// `pub use` items: the name each makes visible here, and the path it stands for.
    reexports: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Open(char),
    Close(char),
    Punct(char),
}

fn parse_module(source: &str) -> ParsedModule {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    fn circles_in(files: &[(&str, &str)]) -> Vec<Vec<String>> {
        let dir = tree(files);
        let graph = ModuleGraph::read(&dir.path().join("lib.rs")).expect("reads");
        graph
            .circles()
            .into_iter()
            .map(|circle| circle.into_iter().map(|m| m.join("/")).collect())
            .collect()
    }

    #[test]
    fn two_siblings_that_import_each_other_are_a_circle() {
        let circles = circles_in(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;\n"),
            ("b.rs", "pub struct B(super::a::A);\n"),
        ]);
        assert_eq!(circles, vec![vec!["a", "b"]]);
    }

    #[test]
    fn a_facade_holding_a_type_its_child_imports_is_a_circle_and_a_named_file_is_not() {
        let facade = circles_in(&[
            ("lib.rs", "mod server;\n"),
            (
                "server/mod.rs",
                "mod echo;\npub struct Config;\npub fn start() { echo::run(Config) }\n",
            ),
            ("server/echo.rs", "use super::Config;\npub fn run(_: Config) {}\n"),
        ]);
        assert_eq!(facade, vec![vec!["server", "server/echo"]]);
        let named = circles_in(&[
            ("lib.rs", "mod server;\n"),
            (
                "server/mod.rs",
                "mod config;\nmod echo;\npub use config::Config;\npub fn start() { echo::run(Config) }\n",
            ),
            ("server/config.rs", "pub struct Config;\n"),
            (
                "server/echo.rs",
                "use super::config::Config;\npub fn run(_: Config) {}\n",
            ),
        ]);
        assert!(named.is_empty(), "{named:?}");
    }

    #[test]
    fn use_groups_nested_paths_and_self_are_followed() {
        let circles = circles_in(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::{x::Y, b::{self, inner::{Deep}}};\n"),
            ("b/mod.rs", "mod inner;\nfn g() { crate::a::h() }\n"),
            ("b/inner.rs", "pub struct Deep(crate::a::Z);\n"),
        ]);
        assert_eq!(circles, vec![vec!["a", "b", "b/inner"]]);
    }

    #[test]
    fn comments_strings_and_test_items_do_not_count() {
        let circles = circles_in(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\n"),
            (
                "b.rs",
                "// crate::a::A\n/* crate::a::A /* nested */ */\nconst S: &str = \"crate::a::A\";\n\
                 const R: &str = r#\"crate::a::A \"quoted\"\"#;\nfn f<'a>(_: &'a str) -> char { '\\'' }\n\
                 #[cfg(test)]\nmod tests { use crate::a::A; }\n#[cfg(test)]\nuse crate::a::A;\n",
            ),
        ]);
        assert!(circles.is_empty(), "{circles:?}");
    }

    #[test]
    fn a_reexport_points_at_the_file_that_defines_the_item() {
        let circles = circles_in(&[
            (
                "lib.rs",
                "mod error;\nmod server;\npub use error::Error;\npub use server::{start as run, Config};\n",
            ),
            ("error.rs", "pub struct Error;\n"),
            (
                "server/mod.rs",
                "mod config;\nmod start;\npub use config::Config;\npub use self::start::start;\n",
            ),
            ("server/config.rs", "pub struct Config(crate::Error);\n"),
            (
                "server/start.rs",
                "use super::Config;\nuse crate::Error;\npub fn start(_: Config) -> Error { todo!() }\n",
            ),
        ]);
        assert!(circles.is_empty(), "{circles:?}");
        let through_the_facade = circles_in(&[
            ("lib.rs", "mod server;\npub use server::run;\n"),
            (
                "server/mod.rs",
                "mod start;\npub struct Config;\npub fn run() { start::start() }\n",
            ),
            (
                "server/start.rs",
                "pub fn start() { let _ = crate::server::Config; }\n",
            ),
        ]);
        assert_eq!(through_the_facade, vec![vec!["server", "server/start"]]);
    }

    #[test]
    fn a_child_named_without_crate_or_super_counts() {
        let circles = circles_in(&[
            ("lib.rs", "mod a;\nmod b;\npub fn root() { a::f(); }\n"),
            ("a.rs", "pub fn f() { crate::b::g() }\n"),
            ("b.rs", "pub fn g() { crate::root() }\n"),
        ]);
        assert_eq!(circles, vec![vec!["", "a", "b"]]);
    }
}
