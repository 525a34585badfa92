//! The module graph of one crate root, and its circles.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::parse::parse_module;

/// A module's path inside its crate: `[]` for the root, `["server", "echo"]` for `server/echo.rs`.
pub(super) type ModulePath = Vec<String>;

/// One crate root's modules: which file holds each, and which paths it names through which other module.
pub(super) struct ModuleGraph {
    pub(super) files: BTreeMap<ModulePath, PathBuf>,
    /// For each module, the modules it depends on, each with the first path that showed it.
    uses: BTreeMap<ModulePath, BTreeMap<ModulePath, String>>,
}

impl ModuleGraph {
    /// Walks the `mod` declarations from `crate_root` and reads every module's paths.
    pub(super) fn read(crate_root: &Path) -> anyhow::Result<Self> {
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
    pub(super) fn circles(&self) -> Vec<Vec<ModulePath>> {
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
    pub(super) fn describe(&self, workspace: &Path, circle: &[ModulePath]) -> String {
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
