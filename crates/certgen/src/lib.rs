//! Local TLS trust: a name-constrained root CA and the certificates browsers, phones and programs accept.
