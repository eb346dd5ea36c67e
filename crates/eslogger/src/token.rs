//! `audit_token_t` in both of eslogger's layouts.

use crate::json::Node;
use crate::mapper::MapError;

/// The identity eslogger gives every process: pid + pidversion name one process image (pidversion
/// changes on exec), the uids/gids are its credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AuditToken {
    pub pid: u64,
    pub pidversion: u64,
    pub euid: Option<u64>,
    pub ruid: Option<u64>,
    pub egid: Option<u64>,
    pub rgid: Option<u64>,
    pub auid: Option<u64>,
    pub asid: Option<u64>,
}

impl AuditToken {
    /// The process-table key.
    pub fn key(&self) -> (u64, u64) {
        (self.pid, self.pidversion)
    }

    /// Objects (macOS 13–15, 27) carry named fields; macOS 26 (message v10) writes the raw
    /// `audit_token_t.val[0..8]`: auid, euid, egid, ruid, rgid, pid, asid, pidversion.
    pub(crate) fn parse(node: &Node<'_>) -> Result<Self, MapError> {
        if node.value.is_array() {
            let items = node.array()?;
            let mut vals = [0u64; 8];
            if items.len() != 8 {
                return Err(node.error("an audit token object or an array of 8 integers"));
            }
            for (slot, item) in vals.iter_mut().zip(items) {
                *slot = item
                    .as_u64()
                    .ok_or_else(|| node.error("an audit token array of 8 non-negative integers"))?;
            }
            let [auid, euid, egid, ruid, rgid, pid, asid, pidversion] = vals;
            return Ok(AuditToken {
                pid,
                pidversion,
                euid: Some(euid),
                ruid: Some(ruid),
                egid: Some(egid),
                rgid: Some(rgid),
                auid: Some(auid),
                asid: Some(asid),
            });
        }
        node.object()?;
        Ok(AuditToken {
            pid: node.get("pid")?.u64()?,
            pidversion: node.get("pidversion")?.u64()?,
            euid: node.opt_u64("euid")?,
            ruid: node.opt_u64("ruid")?,
            egid: node.opt_u64("egid")?,
            rgid: node.opt_u64("rgid")?,
            auid: node.opt_u64("auid")?,
            asid: node.opt_u64("asid")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn array_layout_is_val_order() {
        let value = json!([4294967295u64, 0, 0, 0, 0, 1, 100012, 1029]);
        let token = AuditToken::parse(&Node::root(&value)).unwrap();
        assert_eq!(token.pid, 1);
        assert_eq!(token.pidversion, 1029);
        assert_eq!(token.auid, Some(4294967295));
        assert_eq!(token.asid, Some(100012));
    }

    #[test]
    fn object_layout() {
        let value = json!({"euid":0,"rgid":0,"egid":0,"pid":11221,"asid":100017,"ruid":0,"auid":4294967295u64,"pidversion":170692});
        let token = AuditToken::parse(&Node::root(&value)).unwrap();
        assert_eq!(token.key(), (11221, 170692));
        assert_eq!(token.euid, Some(0));
    }

    #[test]
    fn wrong_shapes_are_errors_naming_the_problem() {
        let short = json!([1, 2, 3]);
        let err = AuditToken::parse(&Node::root(&short)).unwrap_err();
        assert!(err.message.contains("array of 8"), "{err}");
        let no_pid = json!({"pidversion": 3});
        let err = AuditToken::parse(&Node::root(&no_pid)).unwrap_err();
        assert!(err.message.contains("pid: missing"), "{err}");
    }
}
