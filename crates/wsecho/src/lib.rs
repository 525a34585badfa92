//! A ws + wss echo server with a browser self-check page, a client and a load generator.
