//! Places: ISO 3166-1 country codes from names and codes, shared by the
//! importer (stored customer countries are alpha-2 codes where the country is
//! known), the store's country filters and the offline planner's slots.

/// (alpha-2, alpha-3, lowercase names and aliases).
const COUNTRIES: &[(&str, &str, &[&str])] = &[
    ("AE", "ARE", &["united arab emirates", "uae", "emirates"]),
    ("AF", "AFG", &["afghanistan"]),
    ("AR", "ARG", &["argentina"]),
    ("AT", "AUT", &["austria"]),
    ("AU", "AUS", &["australia"]),
    ("BD", "BGD", &["bangladesh", "বাংলাদেশ"]),
    ("BE", "BEL", &["belgium"]),
    ("BH", "BHR", &["bahrain"]),
    ("BR", "BRA", &["brazil", "brasil"]),
    ("BT", "BTN", &["bhutan"]),
    ("CA", "CAN", &["canada"]),
    ("CH", "CHE", &["switzerland"]),
    ("CN", "CHN", &["china", "people's republic of china", "prc"]),
    ("CY", "CYP", &["cyprus"]),
    ("CZ", "CZE", &["czech republic", "czechia"]),
    ("DE", "DEU", &["germany", "deutschland"]),
    ("DK", "DNK", &["denmark"]),
    ("EG", "EGY", &["egypt"]),
    ("ES", "ESP", &["spain", "españa"]),
    ("FI", "FIN", &["finland"]),
    ("FR", "FRA", &["france"]),
    (
        "GB",
        "GBR",
        &[
            "united kingdom",
            "uk",
            "great britain",
            "britain",
            "england",
            "scotland",
            "wales",
            "northern ireland",
        ],
    ),
    ("GR", "GRC", &["greece"]),
    ("HK", "HKG", &["hong kong"]),
    ("HU", "HUN", &["hungary"]),
    ("ID", "IDN", &["indonesia"]),
    ("IE", "IRL", &["ireland", "eire", "republic of ireland"]),
    ("IL", "ISR", &["israel"]),
    ("IN", "IND", &["india", "bharat", "ভারত"]),
    ("IS", "ISL", &["iceland"]),
    ("IT", "ITA", &["italy", "italia"]),
    // "Channel Islands" (UCI Online Retail) is Jersey and Guernsey, which
    // have no common code; it is read as Jersey.
    ("JE", "JEY", &["jersey", "channel islands"]),
    ("GG", "GGY", &["guernsey"]),
    ("JP", "JPN", &["japan"]),
    ("KE", "KEN", &["kenya"]),
    ("KR", "KOR", &["south korea", "korea", "republic of korea"]),
    ("KW", "KWT", &["kuwait"]),
    ("LB", "LBN", &["lebanon"]),
    ("LK", "LKA", &["sri lanka"]),
    ("LT", "LTU", &["lithuania"]),
    ("LU", "LUX", &["luxembourg"]),
    ("MM", "MMR", &["myanmar", "burma"]),
    ("MT", "MLT", &["malta"]),
    ("MV", "MDV", &["maldives"]),
    ("MX", "MEX", &["mexico"]),
    ("MY", "MYS", &["malaysia"]),
    ("NG", "NGA", &["nigeria"]),
    ("NL", "NLD", &["netherlands", "the netherlands", "holland"]),
    ("NO", "NOR", &["norway"]),
    ("NP", "NPL", &["nepal"]),
    ("NZ", "NZL", &["new zealand"]),
    ("OM", "OMN", &["oman"]),
    ("PH", "PHL", &["philippines"]),
    ("PK", "PAK", &["pakistan"]),
    ("PL", "POL", &["poland"]),
    ("PT", "PRT", &["portugal"]),
    ("QA", "QAT", &["qatar"]),
    ("RO", "ROU", &["romania"]),
    ("RU", "RUS", &["russia", "russian federation"]),
    ("SA", "SAU", &["saudi arabia", "ksa"]),
    ("SE", "SWE", &["sweden"]),
    ("SG", "SGP", &["singapore"]),
    ("SK", "SVK", &["slovakia"]),
    ("TH", "THA", &["thailand"]),
    ("TR", "TUR", &["turkey", "türkiye", "turkiye"]),
    ("UA", "UKR", &["ukraine"]),
    (
        "US",
        "USA",
        &[
            "united states",
            "united states of america",
            "america",
            "u s a",
            "u s",
        ],
    ),
    ("VN", "VNM", &["vietnam", "viet nam"]),
    ("ZA", "ZAF", &["south africa", "rsa"]),
];

/// The ISO 3166-1 alpha-2 code of a country given by name (English, a few
/// local spellings), alpha-2 or alpha-3 code, case-insensitive; dots are
/// ignored (`U.K.`). Covers about 70 countries, including every country of
/// the UCI Online Retail data set (`EIRE` -> `IE`, `RSA` -> `ZA`,
/// `Channel Islands` -> `JE`). `None` for unknown names and for
/// `Unspecified` / `European Community`.
pub fn country_code(name_or_code: &str) -> Option<&'static str> {
    let lower = name_or_code.trim().to_lowercase().replace('.', " ");
    let norm = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    if norm.is_empty() {
        return None;
    }
    let compact = norm.replace(' ', "");
    COUNTRIES.iter().find_map(|(a2, a3, names)| {
        let hit = compact.eq_ignore_ascii_case(a2)
            || compact.eq_ignore_ascii_case(a3)
            || names
                .iter()
                .any(|n| *n == norm || n.replace(' ', "") == compact);
        hit.then_some(*a2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries() {
        for (name, code) in [
            ("Bangladesh", "BD"),
            ("bangladesh", "BD"),
            ("BD", "BD"),
            ("BGD", "BD"),
            ("India", "IN"),
            ("Pakistan", "PK"),
            ("United Kingdom", "GB"),
            ("UK", "GB"),
            ("U.K.", "GB"),
            ("Great Britain", "GB"),
            ("United States", "US"),
            ("USA", "US"),
            ("U.S.A.", "US"),
            ("us", "US"),
            ("EIRE", "IE"),
            ("Ireland", "IE"),
            ("Netherlands", "NL"),
            ("RSA", "ZA"),
            ("Channel Islands", "JE"),
            ("Czech Republic", "CZ"),
            ("Hong Kong", "HK"),
            ("বাংলাদেশ", "BD"),
        ] {
            assert_eq!(country_code(name), Some(code), "{name}");
        }
        assert_eq!(country_code("Unspecified"), None);
        assert_eq!(country_code("European Community"), None);
        assert_eq!(country_code("Dhaka"), None);
        assert_eq!(country_code(""), None);
    }

    #[test]
    fn uci_online_retail_countries_are_all_known() {
        let uci = "United Kingdom,France,Australia,Netherlands,Germany,Norway,EIRE,Switzerland,\
                   Spain,Poland,Portugal,Italy,Belgium,Lithuania,Japan,Iceland,Channel Islands,\
                   Denmark,Cyprus,Sweden,Austria,Israel,Finland,Bahrain,Greece,Hong Kong,\
                   Singapore,Lebanon,United Arab Emirates,Saudi Arabia,Czech Republic,Canada,\
                   Brazil,USA,Malta,RSA";
        for c in uci.split(',') {
            assert!(country_code(c).is_some(), "{c}");
        }
    }
}
