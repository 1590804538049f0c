//! Heard's integration tests, in one binary (one link, shared helpers): the public API, the admin, tenant isolation
//! and durability under SIGKILL. Tests that touch storage run on SQLite and on PostgreSQL (required; see support).

mod admin;
mod api;
mod crisis;
mod durability;
mod isolation;
mod support;
mod widget;
