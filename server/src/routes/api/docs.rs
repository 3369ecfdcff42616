//! The OpenAPI 3.1 document, generated from the handlers' own types (so it cannot drift), and a
//! readable reference page rendered from it.

use askama::Template;
use axum::{Json, http::StatusCode, response::Response};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        RefOr,
        path::Operation,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::{campaigns, conversions, error, leads, print, promotion_codes, qr, referrers};
use crate::routes::pages;

/// Registers the bearer API-key scheme.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key made with `handoff api-key create` or in the admin. Its access \
                         decides what it may call: `full` everything, `conversions` only \
                         `POST /api/v1/conversions` and `/api/v1/conversions/import`, `read` only \
                         `GET` calls; any other call answers 403 `forbidden`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Handoff's REST API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Handoff API",
        version = "1",
        description = "Referral campaigns, referrers and leads. Authenticate with `Authorization: Bearer <api key>`. Errors are `{\"error\":{\"code\",\"message\",\"field\",\"suggestion\"}}` with a 4xx status."
    ),
    paths(
        campaigns::create, campaigns::list, campaigns::get_one, print::pdf, print::html, print::csv,
        referrers::create, referrers::list, referrers::get_one, referrers::update, referrers::portal_link, referrers::widget_token,
        qr::svg, qr::png, print::card_svg, print::card_png,
        leads::create, leads::list,
        conversions::record, conversions::import_csv, conversions::get_rules, conversions::put_rules,
        conversions::list_rewards, conversions::issue_reward,
        conversions::qualify_lead, conversions::reject_lead,
        promotion_codes::import_csv,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth),
    tags(
        (name = "campaigns", description = "Referral programmes"),
        (name = "referrers", description = "People who refer, with their link and code"),
        (name = "leads", description = "Referred people"),
        (name = "conversions", description = "Conversion events, qualification rules and rewards"),
        (name = "promotion codes", description = "Stripe promotion codes mapped to referrers"),
    )
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// One operation, as the reference page shows it.
struct Endpoint {
    method: &'static str,
    path: String,
    summary: String,
    description: String,
    parameters: Vec<(String, String)>,
    request: Option<String>,
    responses: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "api_reference.html")]
struct ReferencePage {
    brand_color: &'static str,
    title: String,
    description: String,
    endpoints: Vec<Endpoint>,
    schemas: Vec<(String, String)>,
}

fn endpoint(method: &'static str, path: &str, op: &Operation) -> Endpoint {
    let request = op.request_body.as_ref().and_then(|body| {
        body.content
            .values()
            .next()
            .and_then(|c| c.schema.as_ref())
            .map(|schema| match schema {
                RefOr::Ref(r) => r
                    .ref_location
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                RefOr::T(_) => "inline".to_owned(),
            })
    });
    Endpoint {
        method,
        path: path.to_owned(),
        summary: op.summary.clone().unwrap_or_default(),
        description: op.description.clone().unwrap_or_default(),
        parameters: op
            .parameters
            .iter()
            .flatten()
            .map(|p| (p.name.clone(), p.description.clone().unwrap_or_default()))
            .collect(),
        request,
        responses: op
            .responses
            .responses
            .iter()
            .map(|(status, response)| {
                let text = match response {
                    RefOr::T(r) => r.description.clone(),
                    RefOr::Ref(r) => r.ref_location.clone(),
                };
                (status.clone(), text)
            })
            .collect(),
    }
}

/// `GET /api/v1/docs`: the API reference for people.
pub async fn reference_page() -> Response {
    let doc = ApiDoc::openapi();
    let mut endpoints = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
        ] {
            if let Some(op) = op {
                endpoints.push(endpoint(method, path, op));
            }
        }
    }
    let schemas = doc
        .components
        .as_ref()
        .map(|c| {
            c.schemas
                .iter()
                .map(|(name, schema)| {
                    (
                        name.clone(),
                        serde_json::to_string_pretty(schema).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    pages::render(
        StatusCode::OK,
        &ReferencePage {
            brand_color: pages::HANDOFF_COLOR,
            title: doc.info.title.clone(),
            description: doc.info.description.clone().unwrap_or_default(),
            endpoints,
            schemas,
        },
    )
}
