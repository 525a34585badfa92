//! Where Firefox keeps its profiles (deb, snap, flatpak, macOS), which of them Firefox actually starts, which have
//! a certificate database certgen can use, and which Firefox it finds but cannot cover.
//!
//! A first start in a new HOME leaves two profiles: the one `installs.ini` names for this installation (the one in
//! use) and an empty `X.default` that `profiles.ini` marks `Default=1` for Firefox versions before 67. Only the
//! profiles Firefox starts count: the install defaults of `installs.ini` and of `profiles.ini`'s `[Install*]`
//! sections, the `Default=1` profile when no installation is recorded, and any profile open now (its `lock`).

use std::path::{Path, PathBuf};

use super::command::{Cmd, find_program};
use super::host::{Host, Os};

/// The browser name outcomes and verdicts use for every Firefox (deb, snap, flatpak, macOS).
pub const BROWSER: &str = "Firefox";

/// A Firefox profile with a `cert9.db`, which `certutil` can change.
pub struct Profile {
    pub dir: PathBuf,
    /// Who reads it, for people: `Firefox profile abc.default-release`.
    pub label: String,
    /// Whether Firefox starts it (see the module documentation); an unused one is covered but never a failure.
    pub used: bool,
}

/// A Firefox or profile that certgen found but whose trust it cannot change; `reason` says why and the first step
/// (the caller adds the trust command to run after it).
#[derive(Debug)]
pub struct Uncovered {
    /// Where it is, for people, e.g. `~/.config/mozilla/firefox (Firefox, /usr/bin/firefox-esr)`.
    pub location: String,
    pub reason: String,
}

/// What the search found: the profiles to use, the Firefox installations or used profiles left out, and the
/// profiles without a database that Firefox does not start.
#[derive(Default)]
pub struct Found {
    pub profiles: Vec<Profile>,
    pub uncovered: Vec<Uncovered>,
    pub unused: Vec<Uncovered>,
}

/// One way Firefox is installed, with the folders it keeps profiles in.
struct Install {
    /// `Firefox`, `Firefox (snap)`, `Firefox (flatpak)`.
    browser: &'static str,
    /// The profile folders, in the order Firefox prefers them.
    roots: Vec<PathBuf>,
    /// What shows it is installed for this user, when it is (a program, an app folder).
    evidence: Option<PathBuf>,
    /// The command that starts it, before its options (`firefox-esr`, `flatpak run org.mozilla.firefox`).
    launcher: Vec<String>,
}

/// Every Firefox profile folder of `host`'s user, and every Firefox found without a usable profile.
pub fn find(host: &Host, home: &Path) -> Found {
    let mut found = Found::default();
    for install in installs(host, home) {
        let mut any_profile = false;
        for root in &install.roots {
            let before = found.profiles.len() + found.uncovered.len() + found.unused.len();
            profiles_in(root, &install, host, &mut found);
            any_profile |= found.profiles.len() + found.uncovered.len() + found.unused.len() > before;
        }
        if let (false, Some(evidence)) = (any_profile, &install.evidence) {
            let roots: Vec<String> = install.roots.iter().map(|r| host.show(r)).collect();
            found.uncovered.push(Uncovered {
                location: format!("{} ({}, {})", roots[0], install.browser, host.show(evidence)),
                reason: format!(
                    "installed, but no profile in {} yet: start Firefox once",
                    roots.join(" or ")
                ),
            });
        }
    }
    found.profiles.sort_by(|a, b| a.dir.cmp(&b.dir));
    found.profiles.dedup_by(|a, b| a.dir == b.dir);
    found
}

/// The ways Firefox can be installed on `host`, with their profile folders. Firefox 147+ (ESR 153) makes a new
/// HOME's profiles under `$XDG_CONFIG_HOME/mozilla/firefox` and keeps using `~/.mozilla/firefox` where that
/// exists; flatpak gives the app its own HOME (`~/.var/app/ID`) and XDG config folder (`~/.var/app/ID/config`).
fn installs(host: &Host, home: &Path) -> Vec<Install> {
    let installed = |paths: &[PathBuf]| paths.iter().find(|p| p.exists()).cloned();
    match host.os {
        Os::MacOs => vec![Install {
            browser: "Firefox",
            roots: vec![home.join("Library/Application Support/Firefox")],
            evidence: installed(&[
                PathBuf::from("/Applications/Firefox.app"),
                home.join("Applications/Firefox.app"),
            ]),
            launcher: vec!["/Applications/Firefox.app/Contents/MacOS/firefox".into()],
        }],
        Os::Linux => {
            let config = host
                .xdg_config_home
                .clone()
                .unwrap_or_else(|| home.join(".config"));
            let flatpak = home.join(".var/app/org.mozilla.firefox");
            let program = find_program("firefox", &[]).or_else(|| find_program("firefox-esr", &[]));
            let launcher = program
                .as_deref()
                .and_then(Path::file_name)
                .map_or("firefox".into(), |name| name.to_string_lossy().into_owned());
            vec![
                Install {
                    browser: "Firefox",
                    roots: vec![config.join("mozilla/firefox"), home.join(".mozilla/firefox")],
                    evidence: program,
                    launcher: vec![launcher],
                },
                Install {
                    browser: "Firefox (snap)",
                    roots: vec![home.join("snap/firefox/common/.mozilla/firefox")],
                    evidence: installed(&[home.join("snap/firefox"), PathBuf::from("/snap/firefox")]),
                    launcher: vec!["firefox".into()],
                },
                Install {
                    browser: "Firefox (flatpak)",
                    roots: vec![
                        flatpak.join("config/mozilla/firefox"),
                        flatpak.join(".mozilla/firefox"),
                    ],
                    evidence: installed(&[
                        flatpak.clone(),
                        PathBuf::from("/var/lib/flatpak/app/org.mozilla.firefox"),
                        home.join(".local/share/flatpak/app/org.mozilla.firefox"),
                    ]),
                    launcher: ["flatpak", "run", "org.mozilla.firefox"]
                        .map(String::from)
                        .to_vec(),
                },
            ]
        }
        Os::Windows | Os::Other => Vec::new(),
    }
}

/// The profiles under `root`: those named in `profiles.ini` plus any folder (also under `Profiles/`, as on macOS)
/// holding a certificate database. Those with `cert9.db` are usable; one Firefox starts without it, or one with
/// only the old `cert8.db`, is uncovered; a listed one Firefox does not start and that has no database is unused.
fn profiles_in(root: &Path, install: &Install, host: &Host, found: &mut Found) {
    let ini = ProfilesIni::read(root);
    let mut dirs: Vec<PathBuf> = ini.listed.iter().map(|p| p.dir.clone()).collect();
    for parent in [root.to_owned(), root.join("Profiles")] {
        if let Ok(entries) = std::fs::read_dir(&parent) {
            dirs.extend(entries.flatten().map(|e| e.path()));
        }
    }
    dirs.sort();
    dirs.dedup();
    let browser = install.browser;
    for dir in dirs {
        let folder = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let location = format!("{} ({browser} profile {folder})", host.show(&dir));
        let listed = ini.listed.iter().find(|p| p.dir == dir);
        let used = ini.used(&dir);
        if dir.join("cert9.db").is_file() {
            found.profiles.push(Profile {
                dir,
                label: format!("{browser} profile {folder}"),
                used,
            });
        } else if dir.join("cert8.db").is_file() {
            found.uncovered.push(Uncovered {
                location,
                reason: "only the old cert8.db (Firefox before 58): open this profile in a current Firefox, which \
                         converts it to cert9.db"
                    .into(),
            });
        } else if let Some(listed) = listed {
            // `-P` takes the profile's name from profiles.ini, not its folder; `--profile` takes the folder.
            let launch = Cmd::new(&install.launcher[0]).args(&install.launcher[1..]);
            let start = match &listed.name {
                Some(name) => launch.args(["-P", name]),
                None => launch.arg("--profile").arg(&dir),
            };
            if used {
                found.uncovered.push(Uncovered {
                    location,
                    reason: format!(
                        "no cert9.db yet (Firefox has not opened this profile): start it once with `{start}`"
                    ),
                });
            } else {
                found.unused.push(Uncovered {
                    location,
                    reason: format!(
                        "Firefox does not start this profile: {}, so nothing needs trusting here; if you use it, \
                         start it once with `{start}`",
                        ini.in_use_note(host)
                    ),
                });
            }
        }
    }
}

/// One `[Profile*]` section of `profiles.ini`.
#[derive(Debug, PartialEq, Eq)]
struct Listed {
    /// `Path=`, made absolute when `IsRelative=1` (the default).
    dir: PathBuf,
    /// `Name=`, what `firefox -P` takes.
    name: Option<String>,
    /// `Default=1`: the profile Firefox before 67 starts, and any Firefox without an install record.
    default: bool,
}

/// What `profiles.ini` and `installs.ini` in one profile folder say.
#[derive(Debug, Default)]
struct ProfilesIni {
    listed: Vec<Listed>,
    /// The `Default=` of every installation, in `installs.ini` and in `profiles.ini`'s `[Install*]` sections.
    install_defaults: Vec<PathBuf>,
}

impl ProfilesIni {
    fn read(root: &Path) -> ProfilesIni {
        let mut ini = ProfilesIni::default();
        let resolve = |path: &str, relative: bool| {
            if relative && !Path::new(path).is_absolute() {
                root.join(path)
            } else {
                PathBuf::from(path)
            }
        };
        for (section, keys) in sections(&root.join("profiles.ini")) {
            let get = |key: &str| keys.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
            if section.starts_with("Profile") {
                if let Some(path) = get("Path") {
                    ini.listed.push(Listed {
                        dir: resolve(&path, get("IsRelative").as_deref() != Some("0")),
                        name: get("Name"),
                        default: get("Default").as_deref() == Some("1"),
                    });
                }
            } else if section.starts_with("Install") {
                ini.install_defaults
                    .extend(get("Default").map(|p| resolve(&p, true)));
            }
        }
        for (_, keys) in sections(&root.join("installs.ini")) {
            ini.install_defaults.extend(
                keys.iter()
                    .filter(|(k, _)| k == "Default")
                    .map(|(_, v)| resolve(v, true)),
            );
        }
        ini.install_defaults.sort();
        ini.install_defaults.dedup();
        ini
    }

    /// Whether Firefox starts the profile in `dir`: it is open now, or it is what the install records name (without
    /// any, the `Default=1` profile; without that either, every profile counts).
    fn used(&self, dir: &Path) -> bool {
        if dir.join("lock").symlink_metadata().is_ok() {
            return true;
        }
        if !self.install_defaults.is_empty() {
            return self.install_defaults.iter().any(|d| d == dir);
        }
        match self.listed.iter().find(|p| p.default) {
            Some(default) => default.dir == dir,
            None => true,
        }
    }

    /// Which profile Firefox starts instead, for people.
    fn in_use_note(&self, host: &Host) -> String {
        let used: Vec<String> = self.install_defaults.iter().map(|d| host.show(d)).collect();
        match used.as_slice() {
            [] => "another profile is its default".to_owned(),
            [one] => format!("installs.ini names {one}"),
            many => format!("installs.ini names {}", many.join(" and ")),
        }
    }
}

/// The `[section]`s of an ini file with their `key=value` lines, in order; a missing file has none.
fn sections(path: &Path) -> Vec<(String, Vec<(String, String)>)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push((name.to_owned(), Vec::new()));
        } else if let (Some((_, keys)), Some((key, value))) = (sections.last_mut(), line.split_once('=')) {
            keys.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What firefox-esr 153 leaves after its first start in a new HOME, plus an absolute `Path=`.
    const FIRST_START: &str = "[Profile1]\nName=default\nIsRelative=1\nPath=5v7oi2zr.default\nDefault=1\n\n\
        [Profile0]\nName=default-esr\nIsRelative=1\nPath=c05sl9sp.default-esr\n\n[Profile2]\nName=work\n\
        IsRelative=0\nPath=/srv/ff/work\n\n[General]\nStartWithLastProfile=1\nVersion=2\n\n\
        [Install3B6073811A6ABF12]\nDefault=c05sl9sp.default-esr\nLocked=1\n";

    #[cfg(unix)]
    #[test]
    fn profiles_ini_names_paths_and_the_profile_in_use() {
        let root = tempfile::tempdir().expect("temp dir");
        let root = root.path();
        std::fs::write(root.join("profiles.ini"), FIRST_START).unwrap();
        let ini = ProfilesIni::read(root);
        let dirs: Vec<&Path> = ini.listed.iter().map(|p| p.dir.as_path()).collect();
        assert_eq!(
            dirs,
            [
                root.join("5v7oi2zr.default").as_path(),
                &root.join("c05sl9sp.default-esr"),
                Path::new("/srv/ff/work")
            ]
        );
        assert_eq!(ini.listed[0].name.as_deref(), Some("default"));
        assert!(ini.used(&root.join("c05sl9sp.default-esr")));
        assert!(
            !ini.used(&root.join("5v7oi2zr.default")),
            "Default=1 is for Firefox before 67"
        );
        // Without an install record, the Default=1 profile is the one in use.
        std::fs::write(
            root.join("profiles.ini"),
            FIRST_START.split("[Install").next().unwrap(),
        )
        .unwrap();
        let ini = ProfilesIni::read(root);
        assert!(ini.used(&root.join("5v7oi2zr.default")));
        assert!(!ini.used(&root.join("c05sl9sp.default-esr")));
        // A profile open now is in use whatever the files say.
        std::fs::create_dir_all(root.join("c05sl9sp.default-esr")).unwrap();
        std::os::unix::fs::symlink("127.0.1.1:+4242", root.join("c05sl9sp.default-esr/lock")).unwrap();
        assert!(ini.used(&root.join("c05sl9sp.default-esr")));
    }
}
