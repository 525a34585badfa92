//! Words as a POSIX shell reads them, so every command certgen, wsecho and xtask print (fixes in error messages,
//! trust-store commands, benchmark recipes) can be pasted as is.

use std::ffi::OsStr;

/// `word` as one shell word: plain words (letters, digits and `_@%+=:,./-`) stay as they are, anything else,
/// including the empty word, goes in single quotes.
pub fn quote(word: impl AsRef<OsStr>) -> String {
    let word = word.as_ref().to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.into_owned()
    } else {
        single_quote(&word)
    }
}

/// `text` in single quotes whatever it holds, each `'` written as `'\''` (close, escaped quote, reopen); sh, bash,
/// zsh and fish all read it back as `text`.
pub fn single_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(quote("certutil"), "certutil");
        assert_eq!(quote("sql:/home/a/.pki/nssdb"), "sql:/home/a/.pki/nssdb");
        assert_eq!(quote("C,,"), "C,,");
        assert_eq!(quote("user@host"), "user@host");
    }

    #[test]
    fn everything_else_is_single_quoted() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$HOME"), "'$HOME'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("Bücher"), "'Bücher'");
        assert_eq!(quote(std::path::Path::new("/tmp/my certs")), "'/tmp/my certs'");
    }

    #[test]
    fn single_quote_always_quotes() {
        assert_eq!(single_quote("plain"), "'plain'");
        assert_eq!(single_quote("'"), r"''\'''");
    }

    /// What `sh` makes of a quoted word is the word itself.
    #[cfg(unix)]
    #[test]
    fn sh_reads_the_word_back() {
        for word in [
            "it's a 'name'",
            "",
            "$HOME `x` \\ \"q\"",
            "tab\there",
            "new\nline",
        ] {
            let out = std::process::Command::new("sh")
                .args(["-c", &format!("printf %s {}", quote(word))])
                .output()
                .expect("run sh");
            assert_eq!(String::from_utf8_lossy(&out.stdout), word);
        }
    }
}
