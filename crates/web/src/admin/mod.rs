//! The admin API (`/api/admin/...`), for admin sessions and admins' developer tokens.

pub mod apps;
pub mod audit;
pub mod passkeys;
pub mod resources;
pub mod settings;
pub mod topup;
pub mod user_deletion;
pub mod users;
pub mod ways_in;

/// `p` (1-based page) and `page_size` from a listing query, bounded: the page number and the
/// store's window.
pub fn paging(
    p: Option<i64>,
    page_size: Option<i64>,
    default: i64,
    max: i64,
) -> (i64, keyward_core::store::Page) {
    let limit = page_size.unwrap_or(default).clamp(1, max);
    let page = p.unwrap_or(1).max(1);
    (
        page,
        keyward_core::store::Page {
            offset: (page - 1).saturating_mul(limit),
            limit,
        },
    )
}

/// The page a listing query asks for. The listings read their filters with a second
/// `ApiQuery` from the same query string.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[serde(default)]
    p: Option<i64>,
    #[serde(default)]
    page_size: Option<i64>,
}

impl PageQuery {
    /// The page number and the store's window, as [`paging`] bounds them.
    pub fn window(&self, default: i64, max: i64) -> (i64, keyward_core::store::Page) {
        paging(self.p, self.page_size, default, max)
    }

    /// The page number and size as asked, for listings that bound them themselves.
    pub fn numbers(&self, default_size: i64) -> (i64, i64) {
        (self.p.unwrap_or(1), self.page_size.unwrap_or(default_size))
    }
}

/// One page of a listing.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub page_size: i64,
}

impl<T: serde::Serialize> Listing<T> {
    /// The `page`th page: `items`, as the store read them through `window`.
    pub fn answer(
        items: Vec<T>,
        page: i64,
        window: keyward_core::store::Page,
    ) -> crate::envelope::Success<Self> {
        crate::envelope::Success::new(Self {
            items,
            page,
            page_size: window.limit,
        })
    }
}
