//! Staff roles, always scoped to one organization.

use serde::{Deserialize, Serialize};

/// What a member of an organization may do. Ordered: an admin can do all an analyst can, an analyst all a viewer can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees dashboards and responses.
    Viewer,
    /// Also builds and publishes surveys, exports data.
    Analyst,
    /// Also manages services, touchpoints and members.
    Admin,
}

impl Role {
    pub fn key(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
    /// The role in words ("Administrator").
    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Analyst => "Analyst",
            Role::Admin => "Administrator",
        }
    }
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Analyst, Role::Admin];
    pub fn parse(s: &str) -> Result<Role, crate::FieldError> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            _ => Err(crate::FieldError::new(
                "role",
                "unknown_role",
                "role must be admin, analyst or viewer",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Admin > Role::Analyst && Role::Analyst > Role::Viewer);
        assert_eq!(Role::parse("analyst").unwrap(), Role::Analyst);
        assert!(Role::parse("root").is_err());
    }
}
