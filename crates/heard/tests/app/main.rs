//! Heard's integration tests, in one binary (one link, shared helpers): the public API, the admin, tenant isolation
//! and durability under SIGKILL. Tests that touch storage run on SQLite and on PostgreSQL (required; see support).

mod accounts;
mod admin;
mod amazon_connect;
mod api;
mod api_contract;
mod arrival_channel;
mod crisis;
mod demo;
mod door;
mod durability;
mod edge;
mod edge_more;
mod import;
mod inbox;
mod inbox_csv;
mod insights;
mod isolation;
mod jobs;
mod journey_pages;
mod journeys;
mod keyed_writes;
mod outreach;
mod outreach_smtp;
mod parquet;
mod report_page;
mod reports;
mod rollups;
mod sms_send;
mod sms_store;
mod sms_webhook;
mod support;
mod surveys;
mod themes;
mod widget;
mod words;
