//! The way in: `/` sends a token to its home page, `/login` takes a token and sets the
//! session cookie, `/logout` clears it.

use super::*;

/// `/`: the token's county, or the city overview.
pub async fn root(PageGrant(g): PageGrant) -> Response {
    home(g).into_response()
}

fn home(g: Grant) -> Redirect {
    match g.scope {
        Scope::City => Redirect::to("/city"),
        Scope::County(c) => Redirect::to(&format!("/county/{c}")),
    }
}

#[derive(Template)]
#[template(path = "login.html", config = "src/http/templates/askama.toml")]
struct Login<'a> {
    error: Option<&'a str>,
    scope: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    expired: Option<String>,
}

/// `GET /login`.
pub async fn login_form(Query(q): Query<LoginQuery>) -> Response {
    let error = q
        .expired
        .is_some()
        .then_some("令牌已失效（撤销或错误），请输入新的访问令牌。");
    html(Login { error, scope: None }.render())
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /login`: a good token sets the session cookie and goes home.
pub async fn login(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if let Err(r) = auth::same_origin(&s, &headers) {
        return r;
    }
    let client = auth::client(&s, peer, &headers);
    let token = f.token.trim().to_owned();
    let failed = |msg: &str| {
        (
            StatusCode::UNAUTHORIZED,
            html(
                Login {
                    error: Some(msg),
                    scope: None,
                }
                .render(),
            ),
        )
            .into_response()
    };
    if token.is_empty() {
        return failed("请输入访问令牌。");
    }
    match auth::verify(&s, client, token.clone()).await {
        Ok(g) => (
            [(
                header::SET_COOKIE,
                auth::session_cookie(&token, auth::secure(&s, &headers)),
            )],
            home(g),
        )
            .into_response(),
        Err(Denied::Invalid | Denied::Missing) => {
            failed("令牌无效或已撤销。请核对后重试，或向市水务局索取新的令牌。")
        }
        Err(Denied::Limited(secs)) => limited(secs),
        Err(Denied::Store(e)) => PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("无法读取数据库：{e}"),
        )
        .into_response(),
    }
}

/// `POST /logout`.
pub async fn logout(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = auth::same_origin(&s, &headers) {
        return r;
    }
    (
        [(
            header::SET_COOKIE,
            auth::cleared_cookie(auth::secure(&s, &headers)),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}
