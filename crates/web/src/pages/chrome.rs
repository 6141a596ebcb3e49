//! What every page shows around its content: the signed-in user's navigation and the language
//! switch. The switch is a plain link (no script), so it carries the page to come back to.

use super::Texts;
use super::brand::Brand;
use keyward_core::model::User;

pub struct Chrome {
    pub brand: std::sync::Arc<Brand>,
    pub nav: Option<Nav>,
    pub switch_href: String,
}

/// The links of a signed-in user; admin pages only for admins.
pub struct Nav {
    pub username: String,
    pub is_admin: bool,
    /// The current page's path (no query): its link is marked `aria-current="page"`.
    pub current: String,
}

impl Nav {
    /// Whether `href` is the current page or a page under it (`/admin` for `/admin/users`).
    pub fn is_current(&self, href: &str) -> bool {
        self.current == href
            || self
                .current
                .strip_prefix(href)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

impl Chrome {
    /// `path` is where the language switch returns to: the current page's path and query.
    pub fn new(t: &Texts, path: &str, user: Option<&User>) -> Self {
        let path = super::safe_return_to(path).unwrap_or("/");
        Self {
            brand: Brand::current(),
            nav: user.map(|u| Nav {
                username: u.username.clone(),
                is_admin: u.role.is_admin(),
                current: path.split('?').next().unwrap_or(path).to_owned(),
            }),
            switch_href: format!(
                "/lang?to={}&return_to={}",
                t.other_lang,
                super::encode_return_to(path)
            ),
        }
    }

    /// For pages shown to anyone (errors, login): no navigation, switch back to the front page.
    pub fn bare(t: &Texts, path: &str) -> Self {
        Self::new(t, path, None)
    }
}

#[cfg(test)]
mod tests {
    use super::Nav;

    #[test]
    fn the_current_section_is_marked() {
        let nav = Nav {
            username: "a".into(),
            is_admin: true,
            current: "/admin/users".into(),
        };
        assert!(nav.is_current("/admin"));
        assert!(nav.is_current("/admin/users"));
        assert!(!nav.is_current("/admin/user"));
        assert!(!nav.is_current("/topup"));
    }
}
