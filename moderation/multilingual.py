"""Prompts in German, Spanish, French, Italian, Portuguese and Dutch: the concept words translated.

The rules of ``moderation.concepts`` read English concepts. A prompt in another language is read by
turning its key words into the English words the lexicon knows ("apuñalado" -> "stabbed", "Jahre"
-> "years", "als" -> "as"), so every rule, phrase, age parser and negation works on it unchanged:
"niña de 12 años" becomes "child of 12 years", "die Ausländer als Ratten" "the foreigners as rats".

A language is *present* when at least two of its words are in the prompt (its function words or
the words below). Only then are its words translated, so an English prompt with one word that
happens to be foreign ("Nina in a red dress", "a con artist") reads as before, and a German "die"
is an article, not death. Forms are folded like the text (no accents, lower case): "anos" is
"años". Each entry lists the base forms; the usual endings of the language are added (``ENDINGS``),
and a form ending in ``*`` matches any word that starts with it (verb stems: "apunal*").

Only the concepts that the rules need are here: children and ages, the body, nudity and sex,
violent acts, wounds and gore, self-harm, groups, dehumanising words and hate slogans, negation and
the function words that the rules read ("of", "as", "are", "out", "no").
"""

from __future__ import annotations

import re
from functools import lru_cache

import simplemma

# English -> base forms, per language. A "+" form takes no endings; "*" is a prefix.
_LEXICON: dict[str, dict[str, str]] = {
    "de": {
        "sick": "krank",
        "throat": "+kehle +hals",
        "belly": "+bauch",
        "head": "+kopf",
        "face": "+gesicht",
        "slit": "aufgeschlitz* aufgeschnitt*",
        "thieves": "+diebe",
        "shirt": "+hemd +oberteil",
        "clothes": "kleidung kleider klamotten",
        "the": "+der +das +den +dem +des +die",
        "a": "+ein +eine +einen +einem +einer +eines",
        "of": "+von +vom",
        "with": "+mit",
        "as": "+als +wie",
        "are": "+sind +ist +seien",
        "in": "+im",
        "out": "+raus +heraus +hinaus",
        "no": "+kein +keine +keinen +keiner",
        "without": "+ohne",
        "not": "+nicht",
        "should": "+sollen +sollten +soll +sollte +mussen +musste",
        "years": "+jahre +jahren +jahr +jahrig +jahrige +jahriger +jahriges +jahrigen",
        "old": "+alt +alte +alten +alter +altes",
        "child": "+kind +kindes +kleinkind",
        "children": "+kinder +kindern",
        "girl": "madchen madel",
        "boy": "knabe bub bube",
        "young": "+junge +jungen +junger +junges",
        "baby": "baby babys saugling",
        "teen": "teenager jugendliche jugendlicher minderjahrig schulmadchen schuler schulerin",
        "daughter": "tochter",
        "son": "+sohn",
        "woman": "+frau",
        "women": "+frauen",
        "man": "+mann",
        "men": "+manner",
        "person": "mensch",
        "people": "+leute +menschen",
        "body": "korper leiche leichen",
        "naked": "nackt nackig unbekleidet entbloßt entblosst",
        "topless": "oben-ohne +oberkorperfrei",
        "sex": "+sex +geschlechtsverkehr +beischlaf +vogeln +ficken +fickt +gefickt",
        "porn": "porno pornografisch pornografie",
        "explicit": "explizit",
        "sexy": "sexy verfuhrerisch aufreizend lasziv",
        "lingerie": "dessous reizwasche unterwasche",
        "breasts": "+brust +bruste +brusten +titten",
        "genitals": "genitalien +scheide +penis +muschi +schwanz",
        "legs": "+beine +beinen",
        "open": "offen gespreizt",
        "rape": "vergewaltig*",
        "stabbed": "erstoch* ersticht erstech* niedergestoch* abgestoch*",
        "killed": "getotet +toten +totet +ermordet +ermorden +umgebracht +umbringen",
        "murder": "mord",
        "shot": "erschossen erschiessen",
        "beaten": "verprugelt zusammengeschlagen",
        "blood": "blut",
        "bloody": "blutig blutend blutet +bluten",
        "guts": "+darme +gedarme +eingeweide",
        "wound": "wunde wunden",
        "dead": "tot tote toten",
        "corpse": "kadaver",
        "decapitated": "enthauptet gekopft",
        "dismembered": "zerstuckelt",
        "knife": "messer",
        "gun": "pistole waffe gewehr",
        "suicide": "selbstmord suizid selbstverletzung ritzen ritzt geritzt",
        "cuts": "schnitte schnittwunden",
        "cutting": "+schneiden +schneidet +aufschneiden",
        "arms": "+arme +armen +handgelenk +handgelenke",
        "razor": "rasierklinge",
        "noose": "schlinge",
        "hang himself": "erhangt* erhang* aufhang*",
        "himself": "+sich",
        "pills": "tabletten pillen",
        "jews": "jude juden judin judisch",
        "muslims": "muslim muslime moslem moslems",
        "foreigners": "auslander",
        "refugees": "fluchtling fluchtlinge",
        "immigrants": "einwanderer migranten",
        "gays": "schwule +schwul homosexuelle",
        "black": "schwarz",
        "gypsies": "zigeuner",
        "nigger": "neger kanake kanaken",
        "rats": "ratte ratten",
        "vermin": "ungeziefer schadlinge",
        "cockroaches": "kakerlake kakerlaken",
        "parasites": "parasit parasiten",
        "apes": "affe affen",
        "subhuman": "untermensch untermenschen",
        "exterminate": "vergasen vergast ausrotten ausgerottet vernichten vernichtet",
        "drawn": "gezeichnet dargestellt",
        "poster": "plakat",
        "swastika": "hakenkreuz",
    },
    "es": {
        "sick": "enfermo",
        "throat": "+garganta +cuello",
        "belly": "+vientre +barriga",
        "head": "+cabeza",
        "face": "+cara",
        "thieves": "ladron ladrones",
        "gypsies": "gitano",
        "shirt": "camiseta +camisa",
        "underwear": "+ropa-interior",
        "clothes": "+ropa",
        "the": "+el +la +los +las",
        "a": "+un +una +unos +unas",
        "of": "+de +del",
        "in": "+en",
        "with": "+con",
        "as": "+como",
        "are": "+son +es +eran",
        "out": "+fuera +afuera",
        "no": "+ningun +ninguna",
        "without": "+sin",
        "should": "+deben +deberian +debe",
        "years": "+anos +ano +anitos",
        "old": "+edad",
        "child": "nino nina ninita ninito nene nena",
        "children": "+ninos +ninas",
        "girl": "chica chiquilla muchacha",
        "boy": "chico chiquillo muchacho",
        "baby": "bebe",
        "teen": "adolescente menor colegiala colegial estudiante alumna alumno",
        "daughter": "hija",
        "son": "+hijo",
        "woman": "mujer +senora",
        "women": "+mujeres",
        "man": "hombre +senor",
        "men": "+hombres",
        "people": "+gente +personas",
        "body": "cuerpo cadaver",
        "naked": "desnudo desnudarse desnudandose desnudez encuerado encuerada",
        "topless": "+topless",
        "sex": "+sexo +follar +follando +cogiendo",
        "porn": "porno pornografico pornografia",
        "explicit": "explicito",
        "sexy": "sexy sensual provocativo seductor seductora",
        "lingerie": "lenceria +bragas +tanga +sosten",
        "breasts": "+pechos +senos +tetas",
        "genitals": "genitales +pene +vagina +concha +verga",
        "legs": "+piernas",
        "open": "abierto",
        "rape": "violad* violacion",
        "stabbed": "apunal* acuchill*",
        "killed": "+asesinado +asesinada +asesinar +matado +matar +mata +matan +muerto",
        "murder": "asesinato",
        "shot": "+baleado +disparado",
        "beaten": "golpeado",
        "blood": "sangre",
        "bloody": "sangrando sangriento ensangrentado",
        "guts": "tripas entranas intestinos visceras",
        "wound": "herida",
        "dead": "+muerto +muerta +muertos",
        "decapitated": "decapitado degollado",
        "dismembered": "descuartizado desmembrado",
        "knife": "cuchillo navaja",
        "gun": "pistola arma",
        "suicide": "suicidio suicidarse autolesion autolesiones",
        "cuts": "+cortes +cortadas",
        "cutting": "+cortarme +cortarse +cortandome +cortandose +corta +cortan +cortaba +cortando +cortado",
        "arms": "+brazos",
        "wrists": "+munecas +muneca",
        "razor": "cuchilla",
        "noose": "soga",
        "hang himself": "ahorcar* colgarse",
        "myself": "+yo +me",
        "pills": "pastillas",
        "jews": "judio",
        "muslims": "musulman musulmanes",
        "foreigners": "extranjero",
        "immigrants": "inmigrante",
        "gays": "+gays +maricones +homosexuales",
        "black": "negro",
        "rats": "rata",
        "vermin": "alimanas plaga",
        "cockroaches": "cucaracha",
        "apes": "mono simio",
        "subhuman": "infrahumano subhumano",
        "exterminate": "exterminar exterminados gasear",
        "drawn": "dibujado",
        "poster": "cartel",
    },
    "fr": {
        "sick": "malade",
        "throat": "+gorge",
        "cut": "tranch* +coupe +coupee +coupes +coupees",
        "head": "+tete",
        "underwear": "+sous-vetements +sousvetements +culotte",
        "thieves": "+voleurs",
        "gypsies": "+tsiganes +gitans",
        "clothes": "+vetements",
        "the": "+le +les",
        "a": "+un +une",
        "of": "+de +des +du",
        "in": "+en +dans",
        "with": "+avec",
        "as": "+comme",
        "are": "+sont +est",
        "out": "+dehors",
        "no": "+aucun +aucune",
        "without": "+sans",
        "should": "+doivent +devraient",
        "years": "+ans +an",
        "child": "enfant fillette gamin gamine",
        "children": "+enfants",
        "girl": "fille",
        "boy": "garcon",
        "baby": "bebe",
        "teen": "adolescent ado ecoliere ecolier collegienne mineur",
        "woman": "+femme",
        "women": "+femmes",
        "man": "+homme",
        "men": "+hommes",
        "body": "corps cadavre",
        "naked": "nu nue nus nues denude",
        "sex": "+sexe +baise +baiser",
        "porn": "porno pornographique",
        "explicit": "explicite",
        "sexy": "sexy sensuel sensuelle aguicheuse",
        "breasts": "+seins +poitrine",
        "genitals": "+organes +sexe",
        "rape": "viol*",
        "stabbed": "poignard*",
        "killed": "+tue +tuee +tuer +assassine",
        "blood": "sang",
        "bloody": "sanglant ensanglante saignant",
        "guts": "+tripes +entrailles +intestins",
        "dead": "+mort +morte +morts",
        "decapitated": "decapite",
        "knife": "couteau",
        "suicide": "suicide suicider automutilation scarification",
        "cuts": "+coupures +entailles",
        "arms": "+bras +poignets",
        "hang himself": "pendre pendu",
        "jews": "juif",
        "muslims": "musulman",
        "foreigners": "etranger",
        "immigrants": "immigre",
        "black": "noir",
        "rats": "rat",
        "cockroaches": "cafard",
        "poster": "affiche",
        "apes": "singe",
        "subhuman": "sous-homme sous-hommes",
        "exterminate": "exterminer gazer",
    },
    "it": {
        "sick": "malato",
        "throat": "+gola",
        "cut": "tagliat* +tagliare +taglia",
        "head": "+testa",
        "underwear": "mutande +intimo +costume-da",
        "thieves": "+ladri",
        "gypsies": "zingaro",
        "clothes": "+vestiti",
        "the": "+il +lo +la +gli +le +i",
        "a": "+un +una +uno",
        "of": "+di +del +della +dei +delle",
        "with": "+con",
        "as": "+come",
        "are": "+sono",
        "out": "+fuori",
        "without": "+senza",
        "years": "+anni +anno",
        "child": "bambino bambina bimbo bimba",
        "children": "+bambini +bimbi",
        "girl": "ragazza ragazzina",
        "boy": "ragazzo ragazzino",
        "teen": "adolescente minorenne scolaretta studentessa",
        "woman": "+donna",
        "women": "+donne",
        "man": "+uomo",
        "men": "+uomini",
        "body": "corpo cadavere",
        "naked": "nudo svestito",
        "sex": "+sesso +scopare",
        "porn": "porno pornografico",
        "explicit": "esplicito",
        "sexy": "sexy sensuale provocante",
        "breasts": "+seno +tette",
        "rape": "stupr*",
        "stabbed": "accoltell* pugnal*",
        "killed": "ucciso uccidere ammazzato",
        "blood": "sangue",
        "bloody": "sanguinante insanguinato",
        "guts": "+budella +viscere +intestini",
        "dead": "morto",
        "decapitated": "decapitato",
        "knife": "coltello",
        "suicide": "suicidio suicidarsi autolesionismo",
        "cuts": "+tagli",
        "arms": "+braccia +polsi",
        "hang himself": "impicca*",
        "jews": "ebreo",
        "muslims": "musulmano",
        "foreigners": "straniero stranieri",
        "immigrants": "immigrato",
        "rats": "ratto topo",
        "poster": "manifesto",
        "cockroaches": "scarafaggio",
        "apes": "scimmia scimmie",
        "subhuman": "subumano",
    },
    "pt": {
        "sick": "doente",
        "throat": "+garganta +pescoco",
        "cutting": "+cortando +cortados +cortado +cortada +cortadas +cortar +corta",
        "wrists": "+pulsos +pulso",
        "head": "+cabeca",
        "underwear": "calcinha cueca +roupa-intima +roupa-interior",
        "thieves": "ladrao ladroes",
        "gypsies": "cigano",
        "clothes": "+roupa +roupas",
        "the": "+o +os +as",
        "a": "+um +uma",
        "of": "+de +do +da +dos +das",
        "with": "+com",
        "as": "+como",
        "are": "+sao",
        "out": "+fora",
        "without": "+sem",
        "years": "+anos +ano",
        "child": "crianca menina menino garotinha garotinho",
        "baby": "bebe +nenem",
        "children": "+criancas",
        "girl": "garota moca",
        "boy": "garoto",
        "teen": "adolescente menor colegial estudante",
        "woman": "+mulher",
        "women": "+mulheres",
        "man": "+homem",
        "men": "+homens",
        "body": "corpo cadaver",
        "naked": "nu nua nus nuas pelado pelada",
        "sex": "+sexo +transando +transar",
        "porn": "porno pornografico",
        "explicit": "explicito",
        "breasts": "+seios +peitos",
        "rape": "estupr*",
        "stabbed": "esfaque*",
        "killed": "+assassinado +morto +matar",
        "blood": "sangue",
        "bloody": "sangrando ensanguentado",
        "guts": "+tripas +visceras",
        "knife": "faca",
        "suicide": "suicidio automutilacao",
        "cuts": "+cortes",
        "arms": "+bracos",
        "hang himself": "enforc*",
        "jews": "judeu judeus",
        "foreigners": "estrangeiro",
        "rats": "rato",
        "cockroaches": "barata",
        "apes": "macaco",
    },
    "nl": {
        "sick": "+ziek +zieke",
        "throat": "+keel",
        "underwear": "ondergoed",
        "thieves": "+dieven",
        "clothes": "+kleren +kleding",
        "the": "+de +het",
        "a": "+een",
        "of": "+van",
        "with": "+met",
        "as": "+als",
        "are": "+zijn",
        "out": "+eruit",
        "no": "+geen",
        "without": "+zonder",
        "years": "+jaar +jarig +jarige",
        "old": "+oud",
        "child": "+kind +kindje",
        "children": "+kinderen",
        "girl": "meisje meid",
        "boy": "jongen jongetje",
        "teen": "tiener minderjarig scholiere",
        "woman": "+vrouw",
        "women": "+vrouwen",
        "man": "+man",
        "men": "+mannen",
        "naked": "naakt bloot",
        "sex": "+seks +neuken",
        "porn": "porno",
        "breasts": "+borsten +tieten",
        "rape": "verkracht*",
        "stabbed": "doodgestoken neergestoken",
        "killed": "vermoord gedood",
        "blood": "bloed",
        "bloody": "bloedend bloederig",
        "guts": "ingewanden darmen",
        "dead": "+dood +dode",
        "knife": "mes",
        "suicide": "zelfmoord zelfbeschadiging",
        "jews": "jood joden",
        "foreigners": "buitenlander buitenlanders",
        "rats": "rat ratten",
        "cockroaches": "kakkerlak kakkerlakken",
    },
}
# fmt: on

# Endings added to a base form (after dropping a final vowel in the Romance languages).
ENDINGS = {
    "de": ("", "e", "en", "er", "es", "em", "n", "s"),
    "nl": ("", "e", "en", "s"),
    "fr": ("", "e", "s", "es"),
    "es": ("o", "a", "os", "as", "e", "es"),
    "it": ("o", "a", "i", "e"),
    "pt": ("o", "a", "os", "as", "e", "es"),
}
# Words that say a language is present besides the lexicon (never words English uses as well).
FUNCTION_WORDS = {
    "de": "und der das ist ich mochte bitte auf fur sehr nicht oder einer eines dem den ein eine mit sich zum zur beim",
    "es": "y el los las del una que por para muy quiero imagen foto esta estan la un en de se su al",
    "fr": "et les des du une avec dans sur pour tres je veux image photo est sont le la un de au",
    "it": "e il gli della delle di una uno che per molto voglio immagine sono nel nella la un con",
    "pt": "e os do da dos das um uma com que para muito quero imagem foto o na em ao",
    "nl": "en het een van met niet ik wil afbeelding foto zijn voor bij",
}


def _forms(lang: str, base: str) -> list[str]:
    if base.startswith("+"):
        return [base[1:]]
    endings = ENDINGS[lang]
    if lang in ("es", "it", "pt") and base[-1] in "aeo":
        return [base[:-1] + e for e in endings] + [base]
    if lang in ("es", "it", "pt"):
        return [base, base + "s", base + "es"]
    return [base + e for e in endings]


def _compile() -> tuple[dict[str, dict[str, str]], dict[str, list[tuple[str, str]]]]:
    exact: dict[str, dict[str, str]] = {}
    prefixes: dict[str, list[tuple[str, str]]] = {}
    for lang, entries in _LEXICON.items():
        table = exact.setdefault(lang, {})
        for english, forms in entries.items():
            for base in forms.split():
                if base.endswith("*"):
                    prefixes.setdefault(lang, []).append((base[:-1], english))
                    continue
                for form in _forms(lang, base):
                    table.setdefault(form, english)
    return exact, prefixes


EXACT, PREFIXES = _compile()


def _foreign_only(word: str) -> bool:
    return len(word) >= 3 and not simplemma.is_known(word, lang="en")


SIGNALS = {
    lang: frozenset(FUNCTION_WORDS[lang].split()) | frozenset(w for w in EXACT[lang] if _foreign_only(w))
    for lang in EXACT
}


@lru_cache(maxsize=65536)
def _word_languages(word: str) -> tuple[str, ...]:
    return tuple(lang for lang in EXACT if word in SIGNALS[lang] or (_prefix(lang, word) and _foreign_only(word)))


def languages(words: list[str]) -> tuple[str, ...]:
    """The languages with at least two of their words in ``words``, most words first."""
    counts: dict[str, int] = {}
    for word in words:
        for lang in _word_languages(word):
            counts[lang] = counts.get(lang, 0) + 1
    return tuple(sorted((lang for lang, n in counts.items() if n >= 2), key=lambda lang: -counts[lang]))


PREFIX_RES = {
    lang: (re.compile("|".join(sorted(map(re.escape, dict(pairs)), key=len, reverse=True))), dict(pairs))
    for lang, pairs in PREFIXES.items()
}


def _prefix(lang: str, word: str) -> str | None:
    if lang not in PREFIX_RES:
        return None
    pattern, english = PREFIX_RES[lang]
    m = pattern.match(word)
    return english[m.group(0)] if m else None


@lru_cache(maxsize=65536)
def translate(word: str, langs: tuple[str, ...], exact: bool = False) -> str | None:
    """The English words for ``word`` in the first of ``langs`` that knows it, or None; ``exact``:
    listed forms only, no stem prefixes (for two words joined by a hyphen)."""
    for lang in langs:
        english = EXACT[lang].get(word) or (None if exact else _prefix(lang, word))
        if english:
            return english
    return None


PAIR_FIRSTS = frozenset(form.split("-")[0] for table in EXACT.values() for form in table if "-" in form)
SEPARATORS = re.compile(r"[.\-_*~·•']+")


@lru_cache(maxsize=65536)
def translate_raw(raw: str, langs: tuple[str, ...]) -> tuple[str, ...]:
    """One written word ("12-jahrige", "sous-vetements", "apunalado") as the words to analyse: its
    translation whole, else each hyphenated part translated or kept."""
    whole = translate(SEPARATORS.sub("", raw), langs) or translate(raw, langs)
    if whole:
        return tuple(whole.split())
    if raw.isalnum():
        return (raw,)
    out: list[str] = []
    for part in SEPARATORS.split(raw):
        if part:
            english = translate(part, langs)
            out.extend(english.split() if english else [part])
    return tuple(out)
