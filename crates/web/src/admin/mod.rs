//! The admin API (`/api/admin/...`), for admin sessions and admins' developer tokens.

pub mod apps;
pub mod audit;
pub mod settings;
pub mod topup;
pub mod users;

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

/// One page of a listing.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub page_size: i64,
}
