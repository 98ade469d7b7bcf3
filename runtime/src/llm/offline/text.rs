//! Word-level normalization for routing: tokens, a small English synonym
//! table (language, not tool names), stop words and number words.

use std::sync::LazyLock;

use regex::Regex;

/// Canonical form of a lower-case word: synonyms folded, plurals stripped.
pub(crate) fn canonical(word: &str) -> String {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric());
    if let Some(c) = synonym(w) {
        return c.to_owned();
    }
    let stem = singular(w);
    synonym(&stem).map(str::to_owned).unwrap_or(stem)
}

fn singular(w: &str) -> String {
    if w.len() > 4 && w.ends_with("ies") {
        format!("{}y", &w[..w.len() - 3])
    } else if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") {
        w[..w.len() - 1].to_owned()
    } else {
        w.to_owned()
    }
}

fn synonym(w: &str) -> Option<&'static str> {
    Some(match w {
        "sales" | "sale" | "turnover" | "income" | "earnings" | "takings" | "gmv" | "revenues"
        | "proceeds" | "money" | "earned" | "earn" | "earns" => "revenue",
        "sold" | "sell" | "sells" | "selling" => "revenue",
        "client" | "clients" | "buyer" | "buyers" | "shopper" | "shoppers" | "purchaser"
        | "purchasers" | "consumer" | "consumers" | "audience" | "audiences" | "clientele"
        | "patron" | "patrons" => "customer",
        "item" | "items" | "sku" | "skus" | "article" | "articles" | "merchandise" | "goods" => {
            "product"
        }
        "signed" | "sign" | "signup" | "signups" | "registered" | "register" | "registration"
        | "registrations" | "joined" | "join" | "acquired" | "onboarded" => "signup",
        "many" | "number" | "count" | "counts" | "headcount" | "tally" | "size" => "count",
        "similar" | "resemble" | "resembles" | "resembling" | "lookalike" | "lookalikes"
        | "alike" | "akin" | "twin" | "twins" | "doppelganger" => "similar",
        "named" | "surname" | "surnames" | "lastname" | "firstname" | "names" => "name",
        "moved" | "slip" | "slips" | "slipped" | "slipping" | "downgrade" | "downgraded"
        | "downgrades" | "demoted" | "transition" | "transitions" | "transitioned" | "migrated"
        | "drifted" | "drifting" => "drift",
        "churn" | "churned" | "churning" | "leave" | "leaving" | "lapse" | "lapsing" | "lapsed"
        | "lose" | "losing" | "attrition" | "defect" | "defecting" | "quit" | "quitting" => "churn",
        "opinion" | "opinions" | "feel" | "feeling" | "feelings" | "perception" | "mood"
        | "sentiments" => "sentiment",
        "reviews" | "reviewed" => "review",
        "roi" | "roas" => "roas",
        "channels" => "channel",
        "segments" | "cluster" | "clusters" | "clustering" | "group" | "groups" | "cohort"
        | "cohorts" | "persona" | "personas" | "segmentation" => "segment",
        "imports" | "imported" | "importing" | "upload" | "uploads" | "uploaded" | "sync"
        | "synced" | "ingest" | "ingestion" | "load" | "loaded" => "import",
        "write" | "compose" | "drafts" | "drafting" | "wording" => "draft",
        "predict" | "prediction" | "predicted" | "forecast" | "forecasts" | "estimate"
        | "expected" | "projected" => "predict",
        "label" | "labels" | "mark" | "flag" | "tagged" | "tagging" | "tags" => "tag",
        "details" | "detail" | "info" | "information" | "profiles" | "dossier" | "account"
        | "accounts" | "record" | "records" => "profile",
        "spender" | "spenders" | "vip" | "vips" | "high-value" => "valuable",
        "find" | "lookup" | "locate" | "searching" | "searches" => "search",
        "monthly" | "months" => "month",
        "weekly" | "weeks" => "week",
        "daily" | "days" | "everyday" => "day",
        "trend" | "trends" | "evolution" | "timeline" | "historical" => "trend",
        "history" => "profile",
        "ordered" | "purchased" | "bought" | "purchase" | "purchases" | "orders" => "order",
        "mail" | "mails" | "emails" | "e-mail" | "newsletter" => "email",
        "texts" | "sms" => "sms",
        "subjects" => "subject",
        "best" | "top" | "leading" | "biggest" | "highest" | "most" => "top",
        "ads" | "advertising" | "adverts" | "spend" | "spending" | "paid" | "advertisement"
        | "advertisements" | "campaigns" => "ad",
        "delivery" | "deliveries" | "delivered" | "shipment" | "shipments" | "shipped" => {
            "shipping"
        }
        _ => return None,
    })
}

/// Questions no store data or tool can answer (market prices, the weather,
/// competitors, staff, calendars, stock levels, costs and margins, taxes,
/// suppliers; refunds and cancellations): why not, as a sentence fragment
/// ("I don't have data on the weather"), for the first subject `question`
/// asks about.
pub(crate) fn outside_domain(question: &str) -> Option<&'static str> {
    static OUTSIDE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
        [
            (
                r"\b(?:share|stock)\s+prices?\b|\bstock\s+market\b|\bmarket\s+cap",
                "I don't have data on stock markets",
            ),
            (
                r"\bexchange\s+rates?\b|\bforex\b|\bcurrency\s+rates?\b",
                "I don't have data on exchange rates",
            ),
            (
                r"\bbitcoin\b|\bethereum\b|\bcrypto(?:currency|currencies)?\b",
                "I don't have data on cryptocurrencies",
            ),
            (
                r"\bfollowers\b|\b(?:instagram|tiktok|youtube|twitter|facebook)\s+(?:subscribers|likes|views|posts)\b",
                "I don't have data on social media accounts",
            ),
            (r"\bweather\b|\btemperatures?\b", "I don't have data on the weather"),
            (
                r"\bcompetitors?(?:'s?)?\b|\brivals?(?:'s?)?\b",
                "I don't have data on competitors",
            ),
            (
                r"\bemployees?\b|\bstaff\b|\bpayroll\b|\bsalar(?:y|ies)\b",
                "I don't have data on staff",
            ),
            (
                r"\bmeetings?\b|\bcalendar\b|\bappointments?\b|\b(?:book|schedule)\s+(?:me\s+)?(?:a|an)\s+(?:call|table|room|slot|demo)\b",
                "I don't have access to calendars",
            ),
            (r"\bflights?\b|\bhotels?\b", "I don't have data on travel"),
            (
                r"\bnews\b|\belection\b|\bpresident\b|\bcapital\s+of\b|\bpopulation\s+of\b",
                "I don't have data on world news or facts",
            ),
            (
                r"\brecipes?\b|\bjokes?\b|\bpoems?\b|\blottery\b",
                "That is unrelated to the business data I hold",
            ),
            // The store holds orders, not stock, costs, taxes or suppliers.
            (
                r"\binventory\b|\bwarehouse\b|\b(?:in|out\s+of)\s+stock\b|\bstock\s+levels?\b|\brestock|\b(?:units?|pieces?|pairs?)\b[^.?!]{0,40}\b(?:left|remaining|available)\b",
                "I don't have inventory or stock data",
            ),
            (
                r"\bprofits?\b|\bprofitability\b|\bmargins?\b|\bcost\s+of\s+goods\b|\bcogs\b|\bshipping\s+costs?\b",
                "I don't have cost data, so no profits or margins (only revenue)",
            ),
            (r"\b(?:sales\s+)?tax(?:es)?\b|\bvat\b", "I don't have tax data"),
            (r"\bsuppliers?\b|\bvendors?\b|\bmanufacturers?\b", "I don't have supplier data"),
            (
                r"\b(?:refund|cancel|void|reship)\s+(?:the\s+|this\s+|that\s+|an?\s+|my\s+|our\s+|their\s+)?orders?\b|\b(?:issue|process|give|make)\s+(?:a\s+|the\s+)?refunds?\b",
                "I can't refund or cancel orders",
            ),
        ]
        .into_iter()
        .map(|(p, why)| {
            (
                Regex::new(&format!("(?i){p}")).unwrap_or_else(|e| panic!("outside regex: {e}")),
                why,
            )
        })
        .collect()
    });
    OUTSIDE
        .iter()
        .find(|(r, _)| r.is_match(question))
        .map(|(_, why)| *why)
}

/// Whether `clause` points back to someone named before: a person ("them",
/// "this customer", "her") or a group ("those customers", "these people").
pub(crate) fn points_back(clause: &str) -> bool {
    static BACK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(?:them|they|their|him|his|her|hers|he|she|(?:this|that|the\s+same)\s+(?:customer|client|person|buyer|shopper|one)|(?:those|these)\s+(?:customers|clients|people|buyers|shoppers|ones|members))\b",
        )
        .unwrap_or_else(|e| panic!("points-back regex: {e}"))
    });
    BACK.is_match(clause)
}

/// Words that carry no intent.
pub(crate) fn is_stop(w: &str) -> bool {
    matches!(
        w,
        "the"
            | "a"
            | "an"
            | "of"
            | "in"
            | "on"
            | "for"
            | "to"
            | "we"
            | "our"
            | "ours"
            | "us"
            | "me"
            | "my"
            | "i"
            | "you"
            | "your"
            | "what"
            | "whats"
            | "which"
            | "who"
            | "whom"
            | "how"
            | "is"
            | "are"
            | "was"
            | "were"
            | "do"
            | "does"
            | "did"
            | "be"
            | "been"
            | "being"
            | "have"
            | "has"
            | "had"
            | "show"
            | "give"
            | "tell"
            | "please"
            | "can"
            | "could"
            | "would"
            | "will"
            | "should"
            | "with"
            | "by"
            | "from"
            | "at"
            | "and"
            | "or"
            | "it"
            | "its"
            | "this"
            | "that"
            | "these"
            | "those"
            | "there"
            | "their"
            | "them"
            | "they"
            | "all"
            | "any"
            | "some"
            | "get"
            | "let"
            | "see"
            | "much"
            | "per"
            | "each"
            | "than"
            | "then"
            | "so"
            | "up"
            | "out"
            | "about"
            | "into"
            | "over"
            | "just"
            | "also"
            | "now"
            | "currently"
            | "kindly"
            | "pls"
            | "want"
            | "wanted"
            | "know"
            | "need"
            | "look"
            | "s"
            | "t"
            | "doing"
            | "made"
            | "make"
            | "as"
            | "if"
            | "not"
            | "no"
            | "yes"
            | "ok"
            | "okay"
            | "hey"
            | "hi"
            | "hello"
            | "thanks"
            | "thank"
            | "quick"
            | "what's"
            | "who's"
            | "how's"
            | "it's"
            | "i'd"
            | "we've"
            | "don't"
            | "quickly"
            | "going"
            | "go"
            | "got"
            | "here"
            | "where"
            | "when"
            | "why"
            | "named"
            | "called"
            | "whose"
            | "far"
            | "again"
            | "same"
            | "only"
            | "figure"
            | "figures"
            | "numbers"
            | "stats"
            | "data"
            | "report"
            | "overview"
            | "breakdown"
            | "break"
            | "down"
            | "split"
            | "across"
            | "during"
            | "within"
            | "between"
            | "first"
            | "among"
            | "amongst"
            | "since"
            | "until"
            | "before"
            | "after"
            | "last"
            | "past"
            | "previous"
            | "next"
            | "current"
            | "recent"
            | "recently"
            | "latest"
            | "new"
            | "year"
            | "years"
            | "quarter"
            | "quarters"
            | "today"
            | "yesterday"
            | "ago"
            | "period"
            | "time"
            | "range"
            | "one"
            | "ones"
            | "people"
            | "folks"
            | "anyone"
            | "someone"
            | "thing"
            | "things"
            | "say"
            | "says"
            | "saying"
            | "said"
            | "think"
            | "thinks"
            | "really"
            | "very"
            | "e"
            | "d"
            | "ll"
            | "re"
            | "ve"
            | "m"
            | "might"
            | "may"
            | "likely"
            | "soon"
            | "january"
            | "february"
            | "march"
            | "april"
            | "june"
            | "july"
            | "august"
            | "september"
            | "october"
            | "november"
            | "december"
            | "q1"
            | "q2"
            | "q3"
            | "q4"
            | "h1"
            | "h2"
    )
}

/// Intent-neutral operators: they say what to do, not what about. A tool is
/// only chosen when some non-operator word of the question matches it.
pub(crate) fn is_operator(w: &str) -> bool {
    matches!(
        w,
        "count"
            | "list"
            | "top"
            | "search"
            | "total"
            | "sum"
            | "average"
            | "rank"
            | "ranked"
            | "ranking"
            | "high"
            | "low"
            | "large"
            | "small"
            | "first"
            | "worst"
            | "lowest"
            | "least"
            | "day"
            | "week"
            | "month"
            | "status"
            | "summary"
            | "profile"
            | "trend"
            | "compare"
            | "comparison"
            | "tag"
            | "draft"
            | "predict"
    )
}

/// Multi-word phrases folded to one word before tokenizing.
const PHRASES: &[(&str, &str)] = &[
    ("look up", "lookup"),
    ("looking up", "lookup"),
    ("signed up", "signup"),
    ("sign up", "signup"),
    ("signing up", "signup"),
    ("how many", "count"),
    ("how big", "count"),
    ("how large", "count"),
    ("customer base", "customer"),
    ("how much", "revenue"),
    ("best selling", "top product"),
    ("best-selling", "top product"),
    ("top selling", "top product"),
    ("best sellers", "top product"),
    ("best seller", "top product"),
    ("bestsellers", "top product"),
    ("bestseller", "top product"),
    ("sold best", "top product"),
    ("sells best", "top product"),
    ("sold the most", "top product"),
    ("sell the most", "top product"),
    ("sold most", "top product"),
    ("return on ad spend", "roas"),
    ("return on investment", "roas"),
    ("subject line", "subject"),
    ("e-mail", "email"),
    ("text message", "sms"),
    ("brought in", "revenue"),
    ("bring in", "revenue"),
    ("bringing in", "revenue"),
    ("took in", "revenue"),
    ("take in", "revenue"),
    ("did we make", "revenue"),
    ("did the store make", "revenue"),
    ("did the shop make", "revenue"),
    ("have we made", "revenue"),
    ("top sellers", "top product"),
    ("top seller", "top product"),
    ("high-value", "valuable"),
    ("high value", "valuable"),
    ("most valuable", "valuable"),
    ("big spenders", "valuable customer"),
    ("big spender", "valuable customer"),
    ("worth saving", "valuable"),
    ("worth keeping", "valuable"),
    ("best customers", "valuable customer"),
    ("walk away", "churn"),
    ("walking away", "churn"),
    ("drop off", "churn"),
    ("stop buying", "churn"),
    ("stop ordering", "churn"),
    // A polite request, not a likeness ("I'd like to see my segments").
    ("i'd like", "want"),
    ("we'd like", "want"),
    ("would like", "want"),
    ("everything about", "profile"),
    ("know about", "profile"),
    ("customer record", "profile"),
];

/// Content tokens of a text: canonical, without stop words or pure numbers.
pub(crate) fn content_tokens(text: &str) -> Vec<String> {
    let mut lower = text.to_lowercase().replace('’', "'");
    for (from, to) in PHRASES {
        if lower.contains(from) {
            lower = lower.replace(from, to);
        }
    }
    lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\'').to_owned())
        .map(|w| w.strip_suffix("'s").map(str::to_owned).unwrap_or(w))
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !is_stop(w))
        .map(|w| canonical(&w))
        .filter(|w| !is_stop(w) && !w.is_empty())
        .collect()
}

/// The value of a number word ("ten" -> 10), or of a numeral.
pub(crate) fn number_value(w: &str) -> Option<u64> {
    let w = w.to_lowercase();
    if let Ok(n) = w.parse::<u64>() {
        return Some(n);
    }
    Some(match w.as_str() {
        "one" | "a" | "an" | "single" => 1,
        "two" | "couple" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" | "dozen" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        "hundred" => 100,
        _ => return None,
    })
}

/// Regex alternation of number words and numerals (for patterns).
pub(crate) const NUMBER_RE: &str = r"\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|dozen";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_and_plurals_fold() {
        assert_eq!(canonical("sales"), "revenue");
        assert_eq!(canonical("clients"), "customer");
        assert_eq!(canonical("products"), "product");
        assert_eq!(canonical("categories"), "category");
        assert_eq!(canonical("status"), "status");
        assert_eq!(
            content_tokens("How many clients did we sign up?"),
            vec!["count", "customer", "signup"]
        );
    }

    #[test]
    fn number_words() {
        assert_eq!(number_value("ten"), Some(10));
        assert_eq!(number_value("25"), Some(25));
        assert_eq!(number_value("dozen"), Some(12));
        assert_eq!(number_value("lots"), None);
    }

    #[test]
    fn outside_the_domain_and_pointing_back() {
        assert_eq!(
            outside_domain("What is Apple's share price?"),
            Some("I don't have data on stock markets")
        );
        assert_eq!(
            outside_domain("Will it rain? Check the weather"),
            Some("I don't have data on the weather")
        );
        assert!(outside_domain("book me a table for two").is_some());
        // Data the store does not hold, and actions no tool takes.
        assert!(outside_domain("Which products are out of stock?").is_some());
        assert!(outside_domain("how many units of the sweater are left?").is_some());
        assert!(outside_domain("what was our gross margin last year?").is_some());
        assert!(outside_domain("please refund order O123").is_some());
        // Store questions that share words with those subjects.
        assert_eq!(outside_domain("schedule a campaign for Friday"), None);
        assert_eq!(outside_domain("newsletter open rate"), None);
        assert_eq!(outside_domain("how many orders were returned?"), None);
        assert_eq!(outside_domain("who are our most valuable customers?"), None);
        assert!(points_back("what is their lifetime value?"));
        assert!(points_back("tag this customer as vip"));
        assert!(!points_back("top customers in the USA"));
    }
}
