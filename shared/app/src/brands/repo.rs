//! The brand repository: the only code that knows where brands are stored.
//! It works on the bare store port so that the admin commands (which have no
//! request context) and the routes share it.

use super::seed::SEED;
use crate::keys;
use onecard_core::retry::{on_conflict, Step};
use onecard_core::store::{Cond, Item, ItemStore, Query};
use onecard_core::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Longer names are refused: the seed's clients show a brand in one short cell.
pub const NAME_MAX_CHARS: usize = 50;

/// The field a card names its brand by (10.15/10.42 `Park.CarBrandID`).
const CARD_FIELD: &str = "Park.CarBrandID";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brand {
    pub id: i64,
    pub name: String,
}

impl Brand {
    fn item(&self) -> Item {
        Item::new(keys::car_brands(), keys::id_sk(self.id), json!({ "id": self.id, "name": self.name }))
    }
}

/// Every brand, by id.
pub async fn list(store: &dyn ItemStore) -> ApiResult<Vec<Brand>> {
    let items = store.query_all(&Query::partition(keys::car_brands())).await?;
    let mut brands: Vec<Brand> = items.iter().map(Item::parse).collect::<Result<_, _>>()?;
    brands.sort_by_key(|b| b.id);
    Ok(brands)
}

pub async fn get(store: &dyn ItemStore, id: i64) -> ApiResult<Option<Brand>> {
    match store.get(&keys::car_brands(), &keys::id_sk(id)).await? {
        Some(item) => Ok(Some(item.parse()?)),
        None => Ok(None),
    }
}

/// A name as stored: trimmed, non-empty, one line (the admin listing is
/// tab-separated), at most `NAME_MAX_CHARS`.
fn clean_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::field("BrandName", "is required"));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::field("BrandName", "must not contain tabs, line breaks or other control characters"));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(ApiError::field("BrandName", format!("is longer than {NAME_MAX_CHARS} characters")));
    }
    Ok(name.to_string())
}

/// Two brands of one name would make 6.36's list ambiguous to a person
/// choosing from it; Latin names compare without case ("MINI", "Mini").
fn ensure_unique(brands: &[Brand], name: &str, except: Option<i64>) -> ApiResult<()> {
    let key = name.to_lowercase();
    match brands.iter().find(|b| b.name.to_lowercase() == key && Some(b.id) != except) {
        Some(b) => Err(ApiError::field("BrandName", format!("brand {} is already named '{}'", b.id, b.name))),
        None => Ok(()),
    }
}

/// Adds a brand under the next free id (one above the highest).
pub async fn add(store: &dyn ItemStore, name: &str) -> ApiResult<Brand> {
    let name = clean_name(name)?;
    on_conflict("adding a brand", || async {
        let brands = list(store).await?;
        ensure_unique(&brands, &name, None)?;
        let id = brands.last().map_or(1, |b| b.id + 1);
        let brand = Brand { id, name: name.clone() };
        // MustNotExist: two adders racing for one id retry with the next.
        Step::of(store.put(brand.item(), Cond::MustNotExist).await, brand.clone())
    })
    .await
}

/// Adds a brand under a chosen id (imports that keep another system's ids).
pub async fn add_with_id(store: &dyn ItemStore, id: i64, name: &str) -> ApiResult<Brand> {
    if id < 1 {
        return Err(ApiError::field("BrandID", "must be 1 or more"));
    }
    let name = clean_name(name)?;
    let brands = list(store).await?;
    ensure_unique(&brands, &name, None)?;
    let brand = Brand { id, name };
    match store.put(brand.item(), Cond::MustNotExist).await {
        Ok(()) => Ok(brand),
        Err(e) if e.is_conflict() => Err(ApiError::field("BrandID", format!("brand {id} already exists"))),
        Err(e) => Err(e.into()),
    }
}

/// Renames brand `id`; cards keep referring to it by id.
pub async fn rename(store: &dyn ItemStore, id: i64, name: &str) -> ApiResult<Brand> {
    let name = clean_name(name)?;
    on_conflict("renaming a brand", || async {
        let pk = keys::car_brands();
        let old = store.get(&pk, &keys::id_sk(id)).await?.ok_or_else(|| ApiError::field("BrandID", format!("brand {id} does not exist")))?;
        ensure_unique(&list(store).await?, &name, Some(id))?;
        let brand = Brand { id, name: name.clone() };
        let item = brand.item().with_version(old.version + 1);
        Step::of(store.put(item, Cond::VersionIs(old.version)).await, brand.clone())
    })
    .await
}

/// Seeds the brands of `SEED` under ids 1..N, once per store. Returns how many
/// were written (0 once seeded).
///
/// Each seed brand is written only where its id is free, so a brand renamed
/// before an interrupted seeding resumed keeps its name; the marker, written
/// last, makes every later call one read.
pub async fn ensure_seeded(store: &dyn ItemStore) -> ApiResult<usize> {
    let (marker_pk, marker_sk) = (keys::car_brand_seeding(), "seeded");
    if store.get(&marker_pk, marker_sk).await?.is_some() {
        return Ok(0);
    }
    let mut written = 0;
    for (i, name) in SEED.iter().enumerate() {
        let brand = Brand { id: i as i64 + 1, name: name.to_string() };
        match store.put(brand.item(), Cond::MustNotExist).await {
            Ok(()) => written += 1,
            // Already there: seeded by a concurrent seeder, or renamed since.
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e.into()),
        }
    }
    match store.put(Item::new(marker_pk, marker_sk, json!({ "count": SEED.len() })), Cond::MustNotExist).await {
        Ok(()) => Ok(written),
        Err(e) if e.is_conflict() => Ok(written),
        Err(e) => Err(e.into()),
    }
}

/// The brand a card is given (`Park.CarBrandID`), checked: absent or blank is
/// no brand; anything else must be the id of a brand of 6.36. Returns the id
/// as the card stores it.
pub async fn card_brand(store: &dyn ItemStore, given: Option<String>) -> ApiResult<Option<String>> {
    let Some(text) = given.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let id: i64 = text.parse().map_err(|_| ApiError::field(CARD_FIELD, format!("'{text}' is not a brand id (see park.carbrand.list)")))?;
    match get(store, id).await? {
        Some(b) => Ok(Some(b.id.to_string())),
        None => Err(ApiError::field(CARD_FIELD, format!("brand {id} does not exist (see park.carbrand.list)"))),
    }
}
