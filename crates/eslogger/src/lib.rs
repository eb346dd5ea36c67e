//! macOS `eslogger` JSON → the ECS documents Elastic Defend writes, so Defend detection rules run on
//! Endpoint Security data captured without an Elastic stack.
//!
//! The mapping follows `shared/telemetry/ESLOGGER.md` §6. [`Mapper`] is stateful: it keeps a bounded
//! process table keyed by audit token (pid + pidversion) so forks, execs and exits carry `process.parent.*`
//! and inherited args. The library does no I/O except [`hardware_uuid`].

mod base64;
mod host;
mod json;
mod mapper;
mod table;
mod token;

pub use host::{hardware_uuid, parse_ioreg_platform_uuid, HostIdError};
pub use mapper::{entity_id, MapError, Mapper, MapperOptions, MapperStats};
pub use token::AuditToken;
