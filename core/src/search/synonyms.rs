//! Generic synonyms, so "picture" finds an image tool and "purchase" a shopping one.
//!
//! The groups are everyday English and software vocabulary written by hand, not learned from
//! any evaluation set. A query term's synonyms are searched with a lower weight than the term
//! itself, so an exact match always ranks first. Matching happens on stemmed terms: the groups
//! go through the same analyzer as the index.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::analysis::{analyze, analyzer};

/// Each group lists words that can stand for one another in a request for a tool.
#[rustfmt::skip]
const GROUPS: &[&[&str]] = &[
    // Actions on data.
    &["search", "find", "lookup", "locate", "seek", "discover", "query"],
    &["fetch", "retrieve", "obtain", "download"],
    &["create", "add", "new", "generate"],
    &["delete", "remove", "erase", "destroy", "drop"],
    &["update", "edit", "modify", "change", "alter"],
    &["list", "enumerate", "browse", "show", "display"],
    &["send", "deliver", "dispatch", "transmit"],
    &["summary", "summarize", "summarise", "digest", "overview", "tldr"],
    &["write", "compose", "draft", "author"],
    &["calculate", "compute", "calculator", "math", "arithmetic"],
    &["convert", "conversion", "transform", "translate"],
    &["analyze", "analyse", "analysis", "analytics", "insight", "statistics", "stats", "metrics"],
    &["chart", "graph", "plot", "visualize", "visualization", "diagram"],
    &["check", "verify", "validate", "inspect"],
    &["compare", "comparison", "versus"],
    &["recommend", "recommendation", "suggest", "suggestion", "advice", "tip"],
    &["schedule", "book", "reserve", "reservation", "booking", "appointment"],
    &["upload", "attach", "import"],
    &["resize", "scale", "shrink", "enlarge", "crop", "thumbnail"],
    &["export", "save", "backup"],
    &["run", "execute", "launch", "start", "invoke"],
    &["stop", "halt", "cancel", "terminate", "kill"],
    &["monitor", "track", "watch", "follow"],
    &["plan", "planner", "itinerary", "organize", "organise"],
    // Media and content.
    &["image", "picture", "photo", "photograph", "pic", "img", "illustration"],
    &["video", "clip", "movie", "film"],
    &["music", "song", "track", "audio", "tune", "playlist"],
    &["speech", "voice", "spoken", "audio"],
    &["text", "message", "msg", "chat", "sms"],
    &["email", "mail", "inbox", "gmail"],
    &["news", "headline", "article", "press", "journalism"],
    &["book", "novel", "ebook", "literature"],
    &["document", "doc", "file", "pdf", "paper"],
    &["note", "memo", "notebook"],
    &["joke", "funny", "humor", "humour", "meme", "comedy"],
    &["quote", "quotation", "saying"],
    &["dictionary", "definition", "define", "meaning", "vocabulary"],
    &["language", "translation", "translator", "linguistic"],
    &["podcast", "episode", "show"],
    &["art", "artwork", "drawing", "painting", "design"],
    &["presentation", "slide", "slideshow", "deck"],
    &["spreadsheet", "sheet", "table", "excel", "csv"],
    // Money and shopping.
    &["money", "cash", "currency", "finance", "financial", "payment", "pay"],
    &["price", "cost", "pricing", "fee", "rate", "expensive", "cheap", "afford"],
    &["stock", "share", "equity", "ticker", "invest", "investment", "investing", "portfolio"],
    &["crypto", "cryptocurrency", "bitcoin", "ethereum", "coin", "blockchain", "token"],
    &["buy", "purchase", "shop", "shopping", "order", "checkout"],
    &["product", "item", "goods", "merchandise"],
    &["store", "shop", "retailer", "marketplace", "ecommerce"],
    &["sale", "deal", "discount", "coupon", "promo", "promotion", "bargain", "offer"],
    &["bank", "banking", "account", "loan", "mortgage", "credit"],
    &["tax", "taxes", "irs", "vat"],
    &["insurance", "insure", "policy", "coverage"],
    &["budget", "expense", "spending", "saving"],
    // Everyday life.
    &["weather", "forecast", "climate", "temperature", "rain", "meteorology"],
    &["recipe", "cook", "cooking", "meal", "dish", "cuisine", "ingredient"],
    &["food", "meal", "eat", "dining", "grocery", "groceries", "nutrition"],
    &["restaurant", "dining", "eatery", "cafe"],
    &["drink", "beverage", "cocktail", "wine", "beer"],
    &["travel", "trip", "vacation", "holiday", "journey", "tour", "tourism"],
    &["flight", "airline", "fly", "plane", "airport", "airfare"],
    &["hotel", "lodging", "accommodation", "motel", "hostel", "stay"],
    &["car", "vehicle", "automobile", "auto", "automotive"],
    &["house", "home", "property", "apartment", "realty", "housing", "rent", "rental"],
    &["health", "medical", "medicine", "doctor", "symptom", "clinic", "healthcare"],
    &["fitness", "exercise", "workout", "gym", "training"],
    &["diet", "nutrition", "calorie", "calories"],
    &["mental", "therapy", "meditation", "mindfulness", "wellbeing", "wellness"],
    &["job", "career", "employment", "hire", "hiring", "recruit", "recruiting", "vacancy"],
    &["learn", "study", "education", "course", "tutor", "teach", "lesson", "school"],
    &["game", "play", "gaming", "puzzle", "trivia", "quiz"],
    &["sport", "sports", "football", "soccer", "basketball", "baseball", "tennis", "league"],
    &["event", "concert", "festival", "ticket", "tickets"],
    &["pet", "dog", "cat", "animal", "vet"],
    &["plant", "garden", "gardening", "flower"],
    &["gift", "present"],
    &["fashion", "clothes", "clothing", "apparel", "outfit", "wear"],
    &["beauty", "cosmetic", "cosmetics", "makeup", "skincare"],
    &["kid", "child", "children", "family", "parent", "parenting"],
    &["love", "dating", "relationship", "romance", "date"],
    &["law", "legal", "lawyer", "attorney", "contract"],
    &["astrology", "horoscope", "zodiac"],
    &["history", "historical", "past"],
    &["science", "scientific", "research", "academic", "scholar", "paper"],
    &["space", "astronomy", "planet", "nasa"],
    // Places and time.
    &["map", "location", "place", "address", "geocode", "geolocation", "gps", "coordinate"],
    &["direction", "route", "navigation", "navigate", "distance", "commute", "transit"],
    &["nearby", "near", "local", "around", "closest"],
    &["country", "nation", "city", "region"],
    &["time", "clock", "timezone", "hour"],
    &["date", "day", "calendar"],
    &["calendar", "event", "meeting", "agenda"],
    &["task", "todo", "reminder", "chore"],
    // Software and the web.
    &["code", "program", "programming", "script", "software", "developer", "coding"],
    &["bug", "issue", "error", "defect", "ticket"],
    &["repository", "repo", "git", "github"],
    &["user", "account", "profile", "member", "customer"],
    &["password", "credential", "login", "auth", "authentication", "signin"],
    &["website", "site", "web", "webpage", "page", "url", "link", "domain"],
    &["shorten", "shortener", "shorturl"],
    &["qr", "barcode"],
    &["database", "db", "sql", "table", "record"],
    &["data", "dataset", "information", "info", "detail", "details"],
    &["server", "host", "hosting", "deploy", "deployment", "cloud"],
    &["log", "logs", "logging", "trace", "history"],
    &["notification", "notify", "alert"],
    &["social", "twitter", "tweet", "facebook", "instagram", "post"],
    &["contact", "people", "person", "phone", "call"],
    &["company", "business", "firm", "organization", "organisation", "enterprise", "corporate"],
    &["ai", "gpt", "llm", "chatbot", "assistant"],
    &["security", "secure", "vulnerability", "malware", "virus", "threat"],
    &["random", "generator", "generate"],
    &["review", "rating", "feedback", "opinion"],
    &["word", "term", "phrase"],
    &["number", "numeric", "digit"],
];

/// One synonym: the term searched, and the word it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Synonym {
    /// The analyzed (stemmed) term.
    pub(crate) stem: String,
    /// The word as written in the group, for explanations.
    pub(crate) word: &'static str,
}

/// Stemmed term → its synonyms (the term itself excluded).
fn table() -> &'static HashMap<String, Vec<Synonym>> {
    static TABLE: OnceLock<HashMap<String, Vec<Synonym>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut analyzer = analyzer();
        let mut table: HashMap<String, Vec<Synonym>> = HashMap::new();
        for group in GROUPS {
            let members: Vec<Synonym> = group
                .iter()
                .filter_map(|word| {
                    let terms = analyze(&mut analyzer, word);
                    // Multi-token or stop-word entries cannot stand for a single term.
                    (terms.len() == 1).then(|| Synonym {
                        stem: terms[0].text.clone(),
                        word,
                    })
                })
                .collect();
            for member in &members {
                let entry = table.entry(member.stem.clone()).or_default();
                for other in &members {
                    if other.stem != member.stem && !entry.iter().any(|e| e.stem == other.stem) {
                        entry.push(other.clone());
                    }
                }
            }
        }
        table
    })
}

/// The synonyms of a stemmed term, possibly none.
pub(crate) fn synonyms(stemmed: &str) -> &'static [Synonym] {
    table().get(stemmed).map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_are_stemmed_and_symmetric() {
        let pics = synonyms("pictur");
        assert!(
            pics.iter().any(|s| s.stem == "imag" && s.word == "image"),
            "{pics:?}"
        );
        assert!(synonyms("imag").iter().any(|s| s.stem == "pictur"));
        assert!(synonyms("zzzz").is_empty());
    }
}
