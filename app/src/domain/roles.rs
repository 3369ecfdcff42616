//! Who may do what: the roles of admin accounts and the permissions each one
//! grants.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The role of an admin account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the instance; can do everything.
    Owner,
    /// Can do everything an owner can.
    Admin,
    /// Sees the data and prints materials, but changes nothing.
    Marketer,
    /// Only sees the data.
    Viewer,
    /// Records referrals at the sales desk and sees only what they recorded.
    Sales,
}

/// Something an account may or may not be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Create, edit, pause and delete campaigns.
    ManageCampaigns,
    /// Add, edit and remove referrers and their codes.
    ManageReferrers,
    /// Change lead status, add notes, delete leads.
    ManageLeads,
    /// Mark due rewards as issued (paid out).
    IssueRewards,
    /// See campaigns, referrers, leads and statistics.
    ViewData,
    /// Print or download printable materials (cards, posters).
    Print,
    /// Create and revoke API keys.
    ManageApiKeys,
    /// Set up integrations: inbound webhook sources, Stripe, outbound webhook endpoints.
    ManageIntegrations,
    /// Delete a referrer and what is only theirs (owners only: it cannot be undone).
    DeleteReferrers,
    /// Invite, change and remove admin accounts.
    ManageAdmins,
    /// Record a referral by hand at the sales desk (a code heard on a call or at a visit).
    RecordLeads,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 11] = [
        Permission::ManageCampaigns,
        Permission::ManageReferrers,
        Permission::ManageLeads,
        Permission::IssueRewards,
        Permission::ViewData,
        Permission::Print,
        Permission::ManageApiKeys,
        Permission::ManageIntegrations,
        Permission::DeleteReferrers,
        Permission::ManageAdmins,
        Permission::RecordLeads,
    ];
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Marketer,
        Role::Viewer,
        Role::Sales,
    ];

    /// The stable name used in storage, JSON and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Marketer => "marketer",
            Role::Viewer => "viewer",
            Role::Sales => "sales",
        }
    }

    /// Reads a role name, ignoring case and surrounding whitespace.
    pub fn parse(input: &str) -> Option<Role> {
        let input = input.trim();
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(input))
    }

    /// The admin page this role lands on after signing in: the sales desk for a sales rep (who
    /// may see nothing else), the campaigns for everyone else.
    pub fn home(self) -> &'static str {
        if self.allows(Permission::ViewData) {
            "/admin"
        } else {
            "/admin/sales"
        }
    }

    /// Whether this role grants `permission`.
    ///
    /// Owners and admins may do everything; marketers may view data and
    /// print; viewers may only view data; sales reps may only record leads
    /// (and see the ones they recorded, which needs no `ViewData`).
    pub fn allows(self, permission: Permission) -> bool {
        // An exhaustive match rather than a default arm, so a new role or
        // permission has to be decided on explicitly.
        match self {
            Role::Owner => true,
            Role::Admin => permission != Permission::DeleteReferrers,
            Role::Marketer => match permission {
                Permission::ViewData | Permission::Print => true,
                Permission::ManageCampaigns
                | Permission::ManageReferrers
                | Permission::ManageLeads
                | Permission::IssueRewards
                | Permission::ManageApiKeys
                | Permission::ManageIntegrations
                | Permission::DeleteReferrers
                | Permission::ManageAdmins
                | Permission::RecordLeads => false,
            },
            Role::Viewer => match permission {
                Permission::ViewData => true,
                Permission::Print
                | Permission::ManageCampaigns
                | Permission::ManageReferrers
                | Permission::ManageLeads
                | Permission::IssueRewards
                | Permission::ManageApiKeys
                | Permission::ManageIntegrations
                | Permission::DeleteReferrers
                | Permission::ManageAdmins
                | Permission::RecordLeads => false,
            },
            Role::Sales => match permission {
                Permission::RecordLeads => true,
                Permission::ViewData
                | Permission::Print
                | Permission::ManageCampaigns
                | Permission::ManageReferrers
                | Permission::ManageLeads
                | Permission::IssueRewards
                | Permission::ManageApiKeys
                | Permission::ManageIntegrations
                | Permission::DeleteReferrers
                | Permission::ManageAdmins => false,
            },
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that [`Role::parse`] does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Unknown role '{0}': use owner, admin, marketer, viewer or sales.")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(s).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, StrDeserializer};

    fn allowed(role: Role) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|&p| role.allows(p))
            .collect()
    }

    #[test]
    fn owners_may_do_everything_and_admins_all_but_delete_referrers() {
        assert_eq!(allowed(Role::Owner), Permission::ALL);
        let admin: Vec<Permission> = Permission::ALL
            .into_iter()
            .filter(|&p| p != Permission::DeleteReferrers)
            .collect();
        assert_eq!(allowed(Role::Admin), admin);
    }

    #[test]
    fn marketers_may_only_view_data_and_print() {
        assert_eq!(
            allowed(Role::Marketer),
            [Permission::ViewData, Permission::Print]
        );
    }

    #[test]
    fn viewers_may_only_view_data() {
        assert_eq!(allowed(Role::Viewer), [Permission::ViewData]);
    }

    #[test]
    fn sales_reps_may_only_record_leads() {
        assert_eq!(allowed(Role::Sales), [Permission::RecordLeads]);
    }

    #[test]
    fn a_sales_rep_lands_on_the_sales_desk() {
        assert_eq!(Role::Sales.home(), "/admin/sales");
        assert_eq!(Role::Viewer.home(), "/admin");
        assert_eq!(Role::Owner.home(), "/admin");
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
            let de: StrDeserializer<'_, DeError> = role.as_str().into_deserializer();
            assert_eq!(Role::deserialize(de).unwrap(), role);
        }
        assert_eq!(Role::parse(" Admin "), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
        assert_eq!("root".parse::<Role>(), Err(UnknownRole("root".to_owned())));
    }

    #[test]
    fn permissions_serialize_in_snake_case() {
        let de: StrDeserializer<'_, DeError> = "manage_api_keys".into_deserializer();
        assert_eq!(
            Permission::deserialize(de).unwrap(),
            Permission::ManageApiKeys
        );
    }
}
