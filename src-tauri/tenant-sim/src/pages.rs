//! Self-contained HTML pages (no external assets, no script) for the sign-in flows.

use crate::http::escape_html;

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f6f6f9;margin:0}\
main{max-width:360px;margin:64px auto;background:#fff;padding:32px;border-radius:8px;\
box-shadow:0 1px 4px rgba(0,0,0,.15)}h1{font-size:1.5em;margin-top:0}\
label{display:block;margin:12px 0 4px}input[type=text],input[type=password]{width:100%;\
box-sizing:border-box;padding:8px}.actions{margin-top:20px;display:flex;gap:8px}\
button{padding:8px 16px}.error{color:#b00020;font-weight:600}.muted{color:#555}";

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>\n",
        escape_html(title)
    )
}

/// What a sign-in form shows and where it posts.
pub(crate) struct SignInForm<'a> {
    pub(crate) action: &'a str,
    pub(crate) hidden: Vec<(&'a str, &'a str)>,
    pub(crate) error: Option<&'a str>,
    pub(crate) subtitle: Option<String>,
    /// Show a visible `input#user_code` (device flow without a code in the URL).
    pub(crate) ask_user_code: bool,
}

pub(crate) fn sign_in(form: &SignInForm<'_>) -> String {
    let mut body = String::from("<h1>Sign In</h1>");
    if let Some(sub) = &form.subtitle {
        body.push_str(&format!(
            "<p class=\"muted\" id=\"subtitle\">{}</p>",
            escape_html(sub)
        ));
    }
    if let Some(err) = form.error {
        body.push_str(&format!(
            "<p class=\"error\" id=\"error\" role=\"alert\">{}</p>",
            escape_html(err)
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"{}\">",
        escape_html(form.action)
    ));
    for (name, value) in &form.hidden {
        body.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape_html(name),
            escape_html(value)
        ));
    }
    if form.ask_user_code {
        body.push_str(
            "<label for=\"user_code\">Code</label>\
             <input type=\"text\" id=\"user_code\" name=\"user_code\" autocomplete=\"off\">",
        );
    }
    body.push_str(
        "<label for=\"username\">User Name</label>\
         <input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\">\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\">\
         <div class=\"actions\">\
         <button type=\"submit\" id=\"allow\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" id=\"deny\" name=\"decision\" value=\"deny\">Deny</button>\
         </div></form>",
    );
    layout("Sign In", &body)
}

/// An error page for requests that cannot be redirected back to the client.
pub(crate) fn error(message: &str) -> String {
    layout(
        "Error",
        &format!(
            "<h1>Error</h1><p class=\"error\" id=\"error\">{}</p>",
            escape_html(message)
        ),
    )
}

/// A final page for the device flow.
pub(crate) fn result(heading: &str, message: &str) -> String {
    layout(
        heading,
        &format!(
            "<h1 id=\"result\">{}</h1><p>{}</p>",
            escape_html(heading),
            escape_html(message)
        ),
    )
}
