"""The concept lexicon of prompt moderation: words and multi-word expressions -> concepts.

Entries are lemmas (what ``simplemma`` gives, or the base form); inflected forms are found through
the lemmatiser and a light suffix stripper, so "stabbed", "stabbing" and "stabs" all reach "stab".
A word may carry several concepts. Multi-word expressions (``PHRASES``) are matched on lemmas and
replace the concepts of the words they cover ("blood orange" is food, not blood).

``SENSES`` lists, per ambiguous word, the neighbours that select its harmless sense ("cut" near
"cake", "paper" or "hair"; "shoot" near "photo" or "basketball"); a neutralised word keeps no
concept. ``STEMS`` are prefixes that carry a concept in any form ("decapitat" -> gore).

No Django here: the engine (``moderation.concepts``) and this data are plain Python.
"""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return [w for w in text.split() if w]


# fmt: off
# concept -> words (lemmas or surface forms). Phrases go in PHRASES.
WORDS: dict[str, str] = {
    # --- minors -------------------------------------------------------------------------------
    # An unmistakable child word: with any sexualising concept, the prompt is blocked as minors.
    "minor": """child children kid kiddo kiddie kiddy toddler infant baby newborn preteen pre-teen tween teen teenager
        teenage teenaged adolescent underage schoolgirl schoolboy schoolkid youngster juvenile pubescent
        prepubescent prepubertal daughter son niece nephew kindergarten kindergartner kindergartener preschool
        preschooler schooler schoolers middleschooler highschooler grader loli lolita shota jailbait tot toddlercon
        lolicon shotacon minor boyhood girlhood childlike pupil underaged stepdaughter stepson granddaughter
        grandson schoolchild schoolchildren choirboy tweenager preadolescent pre-adolescent""",
    # A word that is often, not always, a child: with explicit nudity or sex, minors is added.
    "minor_weak": "girl boy gurl lass lad youth cub",
    # Sexual material that is about children whatever else the prompt says.
    "csam": """loli lolicon shota shotacon jailbait pedo pedos pedophile pedophilia paedo paedophile paedophilia
        pedobear csam toddlercon cp""",
    # --- sexual -------------------------------------------------------------------------------
    "nudity": """nude nudity naked nakey nekkid nudist topless bottomless unclothed undress undressed undressing
        disrobe disrobed disrobing starkers braless pantyless commando unclad
        naturist naturism""",
    "genitals": """penis vagina vulva clitoris clit labia testicle testicles scrotum genital genitals genitalia pussy
        cock dick cunt twat erection boner junk crotch groin nipple nipples areola areolas tits titties titty boob
        boobs boobies anus asshole dildo""",
    "sex_act": """sex intercourse coitus fuck fucking fucked orgasm orgy blowjob handjob fellatio cunnilingus
        masturbate masturbation masturbating cum cumshot creampie bukkake gangbang threesome rimjob deepthroat
        sodomy sodomize ejaculate ejaculation penetrate penetration sexting hump humping grope groping fondle
        fondling bestiality incest copulate copulating copulation cumming jizz semen orgasmic phallus dong schlong
        nookie
        horny""",
    "porn": """porn porno pornographic pornography pornstar xxx nsfw hentai ecchi r34 smut lewd erotic erotica
        onlyfans stripper striptease lapdance bdsm bondage fetish kink camgirl milf upskirt downblouse ahegao
        futanari nipslip
        pron softcore kamasutra rule34
        explicit
        prostitute prostitutes prostitution hooker hookers""",
    # Sexualising, not explicit: enough with a minor, never alone.
    "sexualising": """sexy sexier sexiest sultry seductive seductively seduce seducing flirty flirtatious flirt
        flirting provocative provocatively suggestive suggestively sensual sensually alluring racy risque horny
        aroused arousing lustful lust kinky voyeur voyeuristic peeping slutty slut whore sexualized sexualised
        seduction titillating voluptuous busty stripping strip twerk twerking pinup boudoir playboy penthouse oiled
        sexual sexually erotically sexualize sexualise uncensored
        explicit""",
    "sexual_violence": "rape raped raping rapist molest molested molesting molestation molester",
    "sexual_clothing": """lingerie thong g-string gstring panties panty knickers underwear bra bralette negligee
        nightie corset garter garters fishnet fishnets stockings bodysuit babydoll bustier chemise camisole
        jockstrap""",
    "revealing": "revealing skimpy seethrough sheer micro itsy transparent",
    "swimwear": """bikini swimsuit swimwear bathing trunks leotard top skirt dress outfit shorts nightgown nightdress
        shirt t-shirt tshirt clothes clothing leggings tights pants pajamas pyjamas blouse robe gown""",
    "exposing": "exposed exposing bare bared showing show flashing flash uncovered visible out",
    "breast": "breast breasts",
    # --- violence -----------------------------------------------------------------------------
    "gore": """gore gory gruesome decapitate decapitated decapitation behead beheaded beheading dismember dismembered
        dismemberment disembowel disemboweled disembowelled eviscerate eviscerated mutilate mutilated mutilation
        entrails innards carnage bloodbath snuff cannibal cannibalism flay flayed impale impaled butchered gouged
        maim maimed scalped castrated electrocuted waterboarding waterboarded knifed
        shanked pistol-whipped""",
    "atrocity": """massacre genocide execution torture tortured torturing slaughter slaughtered
        lynch lynched lynching""",
    "act_strong": """stab stabbed stabbing murder murdered murdering strangle strangled strangling slaughter behead
        execute executed kill killed killing bludgeon bludgeoned shoot shot shooting torture tortured rape raped
        assault beat beaten beating drown drowned suffocate suffocated smother smothered slay slain skinned gunned
        mowed
        stoning bayonet bayoneted bayoneting""",
    "act_weak": """cut cutting slice sliced slit slitting slash slashed slashing chop chopped hack hacked sever
        severed tear torn rip ripped gouge crush crushed smash smashed punch punched kick kicked stomp stomped
        plunge plunged pierce pierced carve carved spill spilled spilling
        mangle mangled""",
    "body_vital": """head face throat neck chest stomach belly abdomen eye eyes skull heart gut guts torso mouth
        knee knees
        back""",
    "overdose": "overdose overdosing overdosed",
    "poison_substance": "antifreeze bleach poison cyanide arsenic",
    "ingest": "drink drinking drank swallow swallowing swallowed eat eating ingest ingesting",
    "apart": "apart",
    "burst": "explode exploding exploded explodes burst bursting bursts splatter splattering splattered",
    "ligature": "rope ropes cord belt cable wire noose",
    "neck": "neck throat",
    "hang_marker": "rope noose neck dead death lifeless body corpse ceiling beam rafter gallows",
    "hang_place": "rod doorknob banister stairwell bedsheet bedsheets",
    "sh_mark": "scar scars cuts",
    "body_part": """head face throat neck chest stomach belly abdomen arm arms leg legs hand hands finger fingers
        fingernail fingernails eye eyes eyeball skull brain brains jaw limb limbs torso flesh bone bones spine heart
        gut guts intestine intestines wrist wrists forearm forearms thigh thighs foot feet toe toes ear ears nose
        tongue teeth mouth lips cheek scalp ribs rib organ organs kidney liver lung back
        body bodies""",
    "person": """man men woman women guy guys person people victim victims prisoner prisoners soldier soldiers body
        bodies corpse corpses someone somebody family student students wife husband crowd civilian civilians hostage
        hostages girlfriend boyfriend mother father teacher worker villager villagers police officer protester
        protesters him her his he she they them human humans lady gentleman
        fisherman fishermen swimmer swimmers hiker hikers surfer surfers diver divers cyclist cyclists pedestrian
        pedestrians jogger joggers tourist tourists sailor sailors passenger
        passengers camper campers""",
    "wound": """wound wounds wounded gash gashes laceration lacerations bleed bleeding bled bloody bloodied blood
        gunshot stab-wound blister blistering charred bruised bruises gushing""",
    "death": "dead death die dying corpse corpses cadaver carcass lifeless slain murdered",
    "weapon": """knife knives gun guns pistol rifle machete axe sword cleaver chainsaw bullet bullets razor blade
        blades shotgun revolver dagger hatchet pliers hammer crowbar spear crossbow scythe handgun""",
    "firearm": "gun guns pistol revolver rifle shotgun handgun",
    "mouth_temple": "mouth temple chin",
    # --- self-harm ----------------------------------------------------------------------------
    "suicide": """suicide suicidal thinspiration thinspo bonespo proana pro-ana promia selfharm self-harm self-injury
        self-inflicted selfinflicted self-immolation selfimmolation""",
    "reflexive": "myself herself himself themselves yourself yourselves oneself themself own",
    "noose": "noose nooses",
    "pills": "pill pills tablet tablets painkiller painkillers sleeping-pills medication meds barbiturates opioids",
    "excess": "swallow swallowing swallowed handful fistful overdose overdosing overdosed whole entire lethal",
    "harm_method_site": "wrist wrists forearm forearms thigh thighs arm arms",
    "cutter": "razor razors blade blades scalpel",
    "self_act": """cut cutting slit slitting slash slashing slice slicing carve carving scratch scratching burn
        burning stab stabbing shoot shooting hang hanging drown drowning starve starving suffocate harm hurt injure
        kill killing poison poisoning purge electrocute electrocuting""",
    "jump": "jump jumping jumped leap",
    # --- hate ---------------------------------------------------------------------------------
    "slur": """nigger niggers nigga niggas kike kikes faggot faggots fag fags chink chinks spic spics wetback wetbacks
        gook gooks raghead ragheads towelhead towelheads tranny trannies coon coons dyke dykes beaner beaners paki
        pakis yid yids sandnigger kyke heeb heebs sambo darkie darkies jigaboo pickaninny golliwog kaffir zipperhead
        shemale retard retards""",
    "group": """jew jews jewish muslim muslims islam blacks african africans negro negroes gay gays lesbian lesbians
        homosexual homosexuals trans transgender queer queers immigrant immigrants migrant migrants refugee refugees
        mexican mexicans arab arabs asian asians chinese indian indians roma gypsy gypsies christian christians
        catholic catholics hindu hindus sikh sikhs latino latinos hispanic hispanics disabled semite semites jewry
        palestinian palestinians israeli israelis somali somalis romani natives aboriginal aborigines indigenous
        pakistani pakistanis nigerian nigerians haitian haitians slavs
        infidel infidels kafir kafirs tutsi tutsis hutu hutus cripples
        foreigner foreigners autistic autists race races mosque mosques synagogue synagogues""",
    "dehumanise": """vermin cockroach cockroaches roach roaches parasite parasites lice louse pest pests plague
        infestation infest infesting subhuman untermensch filth scum inferior leeches leech maggot maggots termites
        locusts mongrel mongrels degenerate degenerates swarm swarming
        greedy
        abomination abominations
        invasion invaders""",
    "dehumanise_animal": """rat rats ape apes monkey monkeys pig pigs dog dogs animal animals beast beasts savage
        savages virus disease diseases freak freaks trash garbage cancer invader invaders horde hordes insect
        insects gorilla gorillas chimp chimps chimpanzee baboon baboons orangutan thief thieves criminal criminals
        terrorist terrorists rapist rapists pedophile pedophiles paedophiles groomers dirty filthy
        bug bugs stupid dumb primitive barbaric backward evil sick superior perverts perverted
        monster monsters burden burdens
        property livestock cattle chattel objects breeders""",
    "link": """are is as like were be being depicted portrayed drawn shown compared comparing compare labelled
        labeled""",
    "exterminate": """exterminate exterminated extermination eradicate eradicated purge purged cleanse cleansed
        euthanasia euthanise euthanize
        eliminate gas gassed lynch kill burn hang slaughter destroy annihilate massacre genocide cull sterilize
        sterilise drown shoot""",
    "symbol": """swastika swastikas nazi nazis neo-nazi neonazi kkk klan klansman totenkopf reich hitler ss-bolts
        sonnenrad holocaust third-reich aryan wolfsangel jihadi jihadist isis
        skinhead skinheads""",
    "endorse": """proud pride glorious glory glorify glorifying glorified celebrate celebrating celebration hail heil
        salute saluting heroic hero rally recruitment recruiting support supporting supporter victory triumphant
        honor honour honoring honouring praise praising worship tribute long-live proudly cheering cheer applaud
        applauding rallying superior propaganda march marching join joining""",
    "hate_adjective": """racist antisemitic anti-semitic islamophobic homophobic transphobic bigoted stereotypical
        hateful""",
    "demean": "mock mocking mocked ridicule ridiculing demean demeaning degrading humiliating",
    "depiction": "caricature cartoon poster meme flyer propaganda graffiti sign drawing illustration banner",
    # --- context ------------------------------------------------------------------------------
    "history": """memorial museum history historical historic documentary monument remembrance commemoration
        commemorate commemorating cemetery plaque textbook exhibit exhibition archive archival memorialize
        renaissance reenactment re-enactment wwi wwii ww2 ww1 1940s""",
    "prevention": "prevention prevent awareness hotline helpline crisis support recovery survivor",
    # --- round five -------------------------------------------------------------------------
    # Women as a protected group: only in the claim and comparison rules ("women are property",
    # "a woman in a cage, inferior"), not beside every dehumanising word ("women swarm the sales").
    "group_gender": "women woman females wives",
    # What is said to be a fact ("presented as true", "proving"): outweighs a history context.
    "claim": "true truth fact facts proof proving proves proven",
    # Attire that names a group: animals wearing it are the group drawn as animals.
    "group_attire": "kippah kippahs kippot yarmulke yarmulkes",
}

# Multi-word expressions (on lemmas, hyphens and spaces alike): phrase -> concepts.
PHRASES: dict[str, str] = {
    # benign senses that share a word with harm
    "blood orange": "benign", "blood moon": "benign", "blood test": "benign", "blood pressure": "benign",
    "blood donation": "benign", "blood drive": "benign", "blood bank": "benign", "blood type": "benign",
    "blood red": "benign", "bloody mary": "benign", "killer whale": "benign", "photo shoot": "benign",
    "photoshoot": "benign", "shooting star": "benign", "shooting range": "benign", "chicken breast": "benign",
    "turkey breast": "benign", "duck breast": "benign", "breast cancer": "benign", "breast stroke": "benign",
    "naked eye": "benign", "naked mole": "benign", "naked flame": "benign", "naked cake": "benign",
    "naked truth": "benign", "cum laude": "benign", "sex pistol": "benign", "rape seed": "benign",
    "oilseed rape": "benign", "torture test": "benign", "kill switch": "benign", "beating heart": "benign",
    "assault rifle": "weapon",
    "suicide door": "benign", "suicide squad": "benign", "suicide prevention": "benign", "al gore": "benign",
    "gore tex": "benign", "corpse flower": "benign", "corpse paint": "benign", "corpse bride": "benign",
    "pussy willow": "benign", "pussy cat": "benign", "spic and span": "benign", "coon hound": "benign",
    "coon dog": "benign", "blue tit": "benign", "great tit": "benign", "coal tit": "benign",
    "chink in": "benign", "moby dick": "benign", "dick whittington": "benign", "dick tracy": "benign",
    "minor chord": "benign", "minor key": "benign", "minor injury": "benign", "black cat": "benign",
    "hang out": "benign", "hang glider": "benign", "hang gliding": "benign", "strip mall": "benign",
    "comic strip": "benign", "film strip": "benign", "led strip": "benign", "bacon strip": "benign",
    "strip of": "benign", "shot glass": "benign", "flu shot": "benign", "vaccine shot": "benign",
    "hot dog": "benign", "hot day": "benign", "hot chocolate": "benign", "hot air": "benign",
    "hot spring": "benign", "hot sauce": "benign", "hot pepper": "benign", "hot tub": "benign",
    "baby blue": "benign", "baby shower": "benign", "baby grand": "benign",
    "dead end": "benign", "dead tree": "benign", "dead leaf": "benign", "the dead sea": "benign",
    "bare foot": "benign", "bare feet": "benign", "bare tree": "benign", "bare hand": "benign",
    "bare bone": "benign", "bare shoulder": "benign", "bare arm": "benign", "bare wall": "benign",
    "show off": "benign", "top hat": "benign", "chest of": "benign", "treasure chest": "benign",
    # sexual
    "expose himself": "nudity", "expose herself": "nudity", "expose themselves": "nudity",
    "flash himself": "nudity", "flash herself": "nudity", "indecent exposure": "nudity", "adult film": "porn",
    "adult video": "porn", "adult movie": "porn", "adult content": "porn", "adult entertainment": "porn",
    "adult site": "porn", "sexual position": "sex_act", "sex position": "sex_act", "kama sutra": "porn",
    "bare breasted": "nudity", "full frontal": "nudity", "in the raw": "nudity", "shirtless woman": "nudity",
    "shirtless lady": "nudity", "spread eagle": "pose", "sexually explicit": "porn", "explicit sex": "porn",
    "stoned to death": "gore", "killing field": "atrocity", "in the nude": "nudity",
    "wearing nothing but": "nudity", "nothing but a smile": "nudity", "give head": "sex_act",
    "giving head": "sex_act", "go down on": "sex_act", "going down on": "sex_act", "under 18": "minor",
    "under eighteen": "minor", "slanted eye": "slur", "control the media": "conspiracy",
    "control the bank": "conspiracy", "control the world": "conspiracy",
    "control the government": "conspiracy",
    "about to jump": "jump_intent", "ready to jump": "jump_intent", "going to jump": "jump_intent",
    "preparing to jump": "jump_intent",
    "stab wound": "gore", "gunshot wound": "gore", "bullet wound": "gore", "good thing": "endorse",
    "was right": "endorse", "did nothing wrong": "endorse", "never happened": "endorse",
    "lady killer": "benign", "killer smile": "benign", "killer heel": "benign", "killer app": "benign",
    "killer bee": "benign", "sex symbol": "benign", "porn star mustache": "benign",
    "hooked nose": "trope", "big nose": "trope", "money grubbing": "trope",
    "less intelligent": "dehumanise_animal", "mentally ill": "dehumanise_animal", "to the oven": "exterminate_strong",
    "into the oven": "exterminate_strong", "only good": "only_good", "ss flag": "symbol", "ss officer": "symbol",
    "ss uniform": "symbol", "ss soldier": "symbol", "keep america white": "hate_phrase",
    "keep europe white": "hate_phrase", "keep britain white": "hate_phrase", "whites only": "hate_phrase",
    "white only": "hate_phrase", "did 9 11": "conspiracy", "spread the virus": "conspiracy",
    "poison the well": "conspiracy", "steal child": "conspiracy", "steal children": "conspiracy",
    "replace us": "conspiracy", "great replacement": "hate_phrase", "rule the world": "conspiracy",
    "bitten off": "gore", "bite off": "gore", "open fire on": "act_strong", "opened fire on": "act_strong",
    "acid attack": "gore", "acid burn": "wound", "burn scar": "wound", "human flesh": "gore",
    "eating a human": "gore", "eat a human": "gore", "eating a corpse": "gore", "eat a corpse": "gore",
    "eating human": "gore", "tear apart": "tearing", "tearing apart": "tearing", "rip apart": "tearing",
    "blow apart": "tearing", "step in front of a train": "suicide", "stepping in front of a train": "suicide",
    "walk in front of a train": "suicide", "lie on the track": "suicide", "lying on the track": "suicide",
    "rat poison": "poison_substance", "drain cleaner": "poison_substance",
    "pubic hair": "genitals", "pubic": "genitals", "perform oral": "sex_act", "performing oral": "sex_act",
    "oral on": "sex_act", "nude bodysuit": "benign", "nude dress": "benign", "nude leotard": "benign",
    "nude tight": "benign", "nude bra": "benign", "nude stocking": "benign", "nude shoe": "benign",
    "nude pump": "benign", "nude sandal": "benign", "nude tone": "benign", "nude colored": "benign",
    "nude coloured": "benign",
    "anti racism": "opposition", "anti racist": "opposition", "antiracist": "opposition",
    "anti nazi": "opposition",
    "anti fascist": "opposition", "antifascist": "opposition", "anti hate": "opposition",
    "counter protest": "opposition",
    "counter protester": "opposition", "counter demonstrator": "opposition", "against racism": "opposition",
    "stop racism": "opposition", "no to racism": "opposition",
    "flash her chest": "nudity", "flash his chest": "nudity", "flash her body": "nudity",
    "wet t shirt": "sexualising", "wet tshirt": "sexualising", "nothing on": "nudity",
    "not wearing anything": "nudity", "in the buff": "nudity",
    "wearing only a smile": "nudity", "no panty": "nudity", "no panties": "nudity", "no underwear": "nudity",
    "no bra": "nudity", "without panty": "nudity", "without underwear": "nudity", "without a bra": "nudity",
    "family jewel": "genitals", "private part": "genitals", "legs wide open": "pose", "birthday suit": "nudity",
    "without clothes": "nudity", "no clothes": "nudity",
    "no clothing": "nudity", "wearing nothing": "nudity", "skinny dipping": "nudity", "butt naked": "nudity",
    "bare ass": "nudity", "bare assed": "nudity", "au naturel": "nudity", "nip slip": "nudity",
    "oral sex": "sex_act", "anal sex": "sex_act", "anal": "sex_act", "make love": "sex_act", "making love": "sex_act",
    "blow job": "sex_act", "hand job": "sex_act", "jerk off": "sex_act", "jerking off": "sex_act",
    "touching herself": "sex_act", "touching himself": "sex_act", "touch herself": "sex_act",
    "touch himself": "sex_act", "play with herself": "sex_act", "doggy style": "sex_act", "doggystyle": "sex_act",
    "69 position": "sex_act", "sexual assault": "sexual_violence", "sex act": "sex_act", "sex tape": "sex_act porn",
    "rule 34": "porn", "x rated": "porn", "sex toy": "porn", "lap dance": "porn", "strip club": "porn",
    "pole dance": "sexualising", "pole dancing": "sexualising", "spread leg": "pose", "legs spread": "pose",
    "leg spread": "pose", "spread her leg": "pose", "spreading her leg": "pose", "spread his leg": "pose",
    "legs apart": "pose", "leg apart": "pose", "legs open": "pose", "leg open": "pose", "bedroom eye": "sexualising",
    "tiny bikini": "sexualising", "tiny swimsuit": "sexualising", "tiny thong": "sexualising",
    "tiny short": "sexualising", "tiny skirt": "sexualising", "tiny top": "sexualising", "hot pink": "benign",
    "come hither": "sexualising", "licking lip": "sexualising", "bra and panties": "sexual_clothing",
    "crop top": "swimwear",
    "school uniform": "minor", "school girl": "minor", "school boy": "minor", "little girl": "minor",
    "little boy": "minor", "little kid": "minor", "little one": "minor", "young girl": "minor",
    "young boy": "minor", "young teen": "minor", "small girl": "minor", "small boy": "minor", "yung girl": "minor",
    "yung gurl": "minor", "girl scout": "minor", "boy scout": "minor", "elementary school": "minor",
    "primary school": "minor", "middle school": "minor", "junior high": "minor", "high school": "minor",
    "grade school": "minor", "grade schooler": "minor", "nursery school": "minor", "under age": "minor",
    "barely legal": "minor_weak", "child porn": "csam", "kiddie porn": "csam", "child pornography": "csam",
    "underage sex": "csam", "cp video": "csam", "child bride": "csam", "preteen model": "csam",
    "lil girl": "minor", "lil boy": "minor", "little sister": "minor", "little brother": "minor",
    "younger sister": "minor", "kid sister": "minor", "cub scout": "minor", "altar boy": "minor",
    "stark naked": "nudity", "bare naked": "nudity", "wardrobe malfunction": "nudity", "camel toe": "genitals",
    "butt plug": "porn", "strap on": "porn", "sex doll": "porn", "sex scene": "sex_act",
    # undressing and sex acts in other words
    "without any clothes": "nudity", "without any clothing": "nudity", "without a stitch": "nudity",
    "not a stitch": "nudity", "nothing left on her": "nudity", "nothing is left on her": "nudity",
    "nothing left on him": "nudity", "nothing is left on him": "nudity", "nothing remains on her": "nudity",
    "show everything": "show_all", "showing everything": "show_all",
    "show it all": "show_all", "showing it all": "show_all", "leave nothing to the imagination": "show_all",
    "leaving nothing to the imagination": "show_all", "nothing hidden": "show_all", "last garment": "nudity",
    "last piece of clothing": "nudity", "piece by piece": "piecemeal",
    "pleasure herself": "sex_act", "pleasure himself": "sex_act", "pleasure themselves": "sex_act",
    "pleasure myself": "sex_act", "pleasure yourself": "sex_act", "pleasure each other": "sex_act",
    "pleasuring herself": "sex_act", "pleasuring himself": "sex_act", "finger herself": "sex_act",
    "fingering herself": "sex_act", "get it on": "sex_act", "getting it on": "sex_act", "go at it": "at_it",
    "going at it": "at_it", "went at it": "at_it", "bumping ugly": "sex_act", "do the deed": "sex_act",
    "doing the deed": "sex_act", "horny toad": "benign",
    # violence
    "fire at": "act_strong", "firing at": "act_strong", "fired at": "act_strong", "fire into": "act_strong",
    "firing into": "act_strong", "shooting at": "act_strong",
    "to death": "death_phrase", "pool of blood": "gore", "covered in blood": "gore", "soaked in blood": "gore",
    "drenched in blood": "gore", "blood soaked": "gore", "blood splatter": "gore", "blood spatter": "gore",
    "blood spray": "gore", "blood spraying": "gore", "brain matter": "gore", "blown off": "gore",
    "blow off": "gore", "intestines spill": "gore", "guts spill": "gore", "guts hanging out": "gore",
    "blown to piece": "gore", "cut into piece": "gore", "torn apart": "tearing",
    "torn off": "gore", "tear off": "gore", "ripped off": "gore", "rip off": "gore", "ripped out": "gore",
    "rip out": "gore", "hacked off": "gore", "chopped off": "gore", "cut off": "act_weak",
    "skinned alive": "gore", "burned alive": "gore", "burning alive": "gore", "burnt alive": "gore",
    "buried alive": "gore", "set on fire": "act_strong", "burned at the stake": "gore", "burn at the stake": "gore",
    "cave in": "act_strong", "curb stomp": "gore", "drawn and quartered": "gore", "boiled alive": "gore",
    "exit wound": "gore", "bullet hole in": "wound", "gunned down": "act_strong", "mowed down": "act_strong",
    "point blank": "act_strong", "caved in": "act_strong", "bash in": "act_strong", "bashed in": "act_strong",
    "slit throat": "gore", "throat slit": "gore",
    "bone sticking out": "gore", "compound fracture": "gore", "open wound": "wound", "bloody pulp": "gore",
    "firing squad": "atrocity", "mass shooting": "atrocity", "school shooting": "atrocity",
    "school shooter": "atrocity", "mass shooter": "atrocity", "terrorist attack": "atrocity",
    "suicide bomb": "atrocity", "suicide bomber": "atrocity", "suicide bombing": "atrocity",
    "car bomb": "atrocity", "ethnic cleansing": "atrocity hate_phrase", "war crime": "atrocity",
    "serial killer": "atrocity", "shot in the head": "gore", "beat up": "act_strong",
    "eye gouged": "gore", "gouged out": "gore",
    # self-harm
    "self harm": "suicide", "self harming": "suicide", "self injury": "suicide", "self inflicted": "suicide",
    "self mutilation": "suicide", "pro ana": "suicide", "pro mia": "suicide", "kill myself": "suicide",
    "kill yourself": "suicide", "kill herself": "suicide", "kill himself": "suicide", "kys": "suicide",
    "end my life": "suicide", "end his life": "suicide", "end her life": "suicide", "end their life": "suicide",
    "ending her life": "suicide", "ending his life": "suicide", "end it all": "suicide",
    "jump off a bridge": "suicide", "jump off the bridge": "suicide",
    "jump off a roof": "suicide", "jump off the roof": "suicide", "jump in front of a train": "suicide",
    "set herself on fire": "suicide", "set himself on fire": "suicide", "hesitation mark": "sh_mark",
    "suicidal thought": "suicide", "ending it all": "suicide",
    "take her own life": "suicide", "take his own life": "suicide", "taking her own life": "suicide",
    "taking his own life": "suicide", "take my own life": "suicide", "own life": "suicide",
    "want to die": "suicide", "wants to die": "suicide", "to his death": "death_phrase",
    "to her death": "death_phrase", "to their death": "death_phrase", "sleeping pill": "pills",
    "bottle of pill": "pills excess", "goodbye note": "farewell", "suicide note": "suicide",
    "farewell note": "farewell", "plastic bag over": "suffocation", "bag over his head": "suffocation",
    "bag over her head": "suffocation", "engine running": "exhaust", "train track": "tracks",
    "one by one": "excess", "until they bleed": "wound", "skin and bone": "ed_marker",
    "hang himself": "suicide", "hang herself": "suicide", "hang myself": "suicide",
    "hang themselves": "suicide", "hanging himself": "suicide", "hanging herself": "suicide",
    "hanged himself": "suicide", "hanged herself": "suicide", "go through with it": "resolve",
    "went through with it": "resolve", "going through with it": "resolve", "gone through with it": "resolve",
    "starve yourself": "suicide", "starving herself": "suicide", "starving himself": "suicide",
    "purge after eating": "suicide", "anorexia tip": "suicide",
    # hate
    "heil hitler": "hate_phrase", "sieg heil": "hate_phrase", "white power": "hate_phrase",
    "white pride": "hate_phrase", "white supremacy": "hate_phrase", "white supremacist": "hate_phrase",
    "master race": "hate_phrase", "final solution": "hate_phrase",
    "race war": "hate_phrase", "14 word": "hate_phrase", "1488": "hate_phrase", "holocaust denial": "hate_phrase",
    "holocaust was fake": "hate_phrase", "blackface": "hate_phrase", "useless eater": "dehumanise",
    "not human": "dehumanise", "less than human": "dehumanise", "gas chamber": "exterminate",
    "wipe out": "exterminate", "get rid of": "exterminate", "death to": "exterminate", "kill all": "exterminate",
    "must die": "exterminate", "should die": "exterminate",
    "burn in hell": "exterminate", "ku klux klan": "symbol", "hitler youth": "symbol", "nazi flag": "symbol",
    "ss bolt": "symbol", "black sun": "symbol", "join us": "endorse", "long live": "endorse",
    "black people": "group", "black man": "group", "black men": "group", "black woman": "group",
    "black women": "group", "white people": "group", "people of color": "group", "jewish race": "group",
    "porch monkey": "slur", "sand monkey": "slur", "camel jockey": "slur", "slant eye": "slur",
    "breed like rabbit": "dehumanise", "waffen ss": "symbol", "isis flag": "symbol", "aryan brotherhood": "hate_phrase",
    "aryan race": "hate_phrase", "aryan nation": "hate_phrase", "nazi propaganda": "symbol endorse",
    "jungle bunny": "slur", "national socialist": "symbol", "national socialism": "symbol",
    "protect the white race": "hate_phrase", "save the white race": "hate_phrase",
    "preserve the white race": "hate_phrase", "defend the white race": "hate_phrase",
    "wheelchair user": "group", "disabled people": "group", "trans women": "group", "trans men": "group",
    "useless burden": "dehumanise", "sand nigger": "slur",
}

# Ambiguous words and the neighbours (lemmas, within ``SENSE_WINDOW`` words) that select their
# harmless sense. A neutralised word carries no concept at all.
_FOOD = """cake cakes bread loaf pizza pie cookie cookies vegetable vegetables onion onions carrot carrots tomato
    fruit apple orange lemon melon watermelon meat steak beef pork ham bacon sausage sausages chicken fish salmon
    cheese sandwich turkey lamb roast carpaccio rare chef kitchen cook cooking recipe dinner lunch breakfast
    restaurant food plate salad sushi butcher deli herb herbs board""".split()
_CRAFT = """paper snowflake snowflakes ribbon fabric cloth cardboard scissors craft crafts origami pattern coupon
    wood firewood log logs tree trees branch grass lawn hedge flower flowers stem stems diamond gem glass hair
    haircut bangs fringe beard tape film cutout cut-out stencil pumpkin price prices cost costs budget""".split()
_FIRST_AID = "band-aid bandaid bandage plaster first aid nurse stitches stitch medical doctor".split()
_PHOTO = """photo photograph photographer photography camera film movie video fashion wedding model portrait
    studio scene commercial""".split()
_SPORT = """basketball hoop goal three pointer ball puck competition contest range target archery arrow skeet clay
    pigeon trap paintball sport sports club gallery olympic olympics tournament championship match game player
    team hockey soccer football golf pool billiards""".split()
_DECOR = """lantern lanterns light lights lamp lamps basket baskets plant plants picture pictures painting paintings
    frame wall clothes laundry coat decoration decorations ornament ornaments garland flag flags wreath curtain
    curtains hammock sign chandelier poster tapestry tarot card cards bat bats sloth upside bar bars swing
    washing line tinsel fairy mobile""".split()
_COLOUR = """lipstick lip lips palette color colour colors colours tone tones shade shades heel heels pump pumps
    shoe shoes makeup make-up nail nails polish eyeshadow beige tan foundation hue blush""".split()
_FAKE = "fake costume halloween prop props makeup special effects sfx boxer boxing ring".split()
_OBJECT = "statue statues sculpture figurine doll dolls mannequin toy toys lego ruin ruins relic robot".split()
_PRODUCT = "packaging package packet product shop store aisle laundry drawer folding washing shelf".split()
_TOY = "water nerf toy toys squirt cap pretend foam dart darts laser lasertag pea peashooter".split()
_CRITTER = (
    "spider fly flies bug bugs mosquito insect insects cockroach ant ants pest pests weed weeds germ germs"
).split()
_BIRD = "bird birds feeder branch nest blue great coal chick chicks".split()

# climbing: a harness and rope on a cliff are gear, not a ligature
_CLIMB = "harness climber climbers climbing climb abseil abseiling rappel rappelling belay carabiner".split()
# a gym or a playground: "hanging from the bar", "hanging from the rings"
_GYM = "gym gymnast gymnastics playground monkey trapeze acrobat pullup pull-up chin-up".split()
SENSE_WINDOW = 3
# Words read as they are, not by their English lemma: Romanian "8 ani" is eight years, never anuses.
OWN_LEMMAS = frozenset({"ani"})
SENSES: dict[str, list[str]] = {
    "cut": _FOOD + _CRAFT + _FIRST_AID,
    "cutting": _FOOD + _CRAFT + _FIRST_AID,
    "slice": _FOOD + _CRAFT,
    "chop": _FOOD + _CRAFT,
    "carve": _FOOD + _CRAFT + "statue sculpture stone marble ice".split(),
    "hack": "computer laptop code hacker keyboard".split() + _FOOD,
    "slash": "price prices sale".split(),
    "saw": _CRAFT + "carpenter workshop".split(),
    "shoot": _PHOTO + _SPORT + _TOY + "star bud sprout".split(),
    "shot": _PHOTO + _SPORT + _TOY + _FIRST_AID + (
        "doctor vaccination close closeup close-up wide long medium full angle aerial establishing low drone "
        "of headshot cinematic lens vaccine flu espresso tequila whiskey vodka booster injection"
    ).split(),
    "shooting": _PHOTO + _SPORT + _TOY + "star".split(),
    "hang": _DECOR + _FOOD + ["out", "glider", "gliding"] + _CLIMB + _GYM,
    "rope": _CLIMB,
    "ropes": _CLIMB,
    "hanging": _DECOR + _FOOD + ["out", "glider", "gliding"] + _CLIMB + _GYM,
    "stockings": ["christmas", "fireplace", "mantel", "santa", "gift", "gifts", "xmas"],
    "garter": ["snake"],
    "blood": _FOOD + _FAKE + "orange moon red donor donation donate test sample pressure cell vessel sugar bank drive "
    "transfusion vial lab type brother line draw drawing".split(),
    "bloody": _FOOD + _FAKE + "mary good hell".split(),
    "kill": "light lights switch time engine it".split() + _CRITTER,
    "killing": "light lights switch time engine it".split() + _CRITTER,
    "beat": "drum drums egg eggs heat record game team traffic music rhythm".split(),
    "execute": "plan order warrant code program gambit move strategy trade contract".split(),
    "execution": "plan order warrant code program gambit move strategy trade contract chess".split(),
    "nude": _COLOUR,
    "underwear": _PRODUCT,
    "panties": _PRODUCT,
    "bra": _PRODUCT,
    "pierce": "ear ears earring earrings piercing jewelry jewellery belly button nose tongue lip eyebrow".split(),
    "pierced": "ear ears earring earrings piercing jewelry jewellery belly button nose tongue lip eyebrow".split(),
    "hooker": ["rugby", "scrum", "lineout"],
    "sex": "education ed chromosome chromosomes determination ratio difference differences gender pistols".split(),
    "jump_intent": "bungee parachute skydive skydiving skydiver diving diver pool lake water trampoline base".split(),
    "topless": "car convertible bus jeep roof vehicle tram boat mountain peak hill tree tower".split(),
    "explicit": "lyric lyrics label sticker instruction instructions warning detail details diagram formula".split(),
    "behead": _OBJECT,
    "beheaded": _OBJECT,
    "decapitate": _OBJECT,
    "decapitated": _OBJECT,
    "dismember": _OBJECT,
    "dismembered": _OBJECT,
    "mutilated": _OBJECT,
    "junk": "food yard mail drawer shop car cars pile store heap art sculpture".split(),
    "splatter": ["paint", "paintball", "ink", "art", "abstract"],
    "swarm": ["bee", "bees", "locust", "insect", "fish", "drone", "drones"],
    "march": ["month", "spring", "band", "parade"],
    "crotch": "jeans pants trousers seam rocket".split(),
    "groin": ["injury", "strain", "pull", "vault"],
    "naked": ["eye", "flame", "mole", "truth", "bulb", "cake", "wire"],
    "strip": "film mall comic bacon land paint wallpaper wire bark led las vegas".split(),
    "stripping": "paint wallpaper wire bark furniture".split(),
    "pussy": ["willow", "cat", "kitten"],
    "cock": "crow crowing farm rooster hen hens chicken fight weather robin sparrow sunrise barn".split(),
    "dick": "whittington moby tracy pantomime novel detective book van dyke".split(),
    "tit": _BIRD,
    "tits": _BIRD,
    "coon": ["hound", "dog", "raccoon", "skin", "cap"],
    "chink": ["armor", "armour", "light", "curtain", "wall"],
    "fag": ["cigarette", "smoke", "packet", "lighter"],
    "faggot": _FOOD + ["peas", "gravy", "meatball", "firewood", "sticks", "bundle"],
    "rape": ["seed", "field", "yellow", "canola", "oil", "oilseed"],
    "torture": ["test", "device", "rack"] + "museum medieval".split(),
    "gore": ["al", "tex", "vice"],
    "suicide": "prevention awareness hotline helpline crisis squad door doors support king watch".split(),
    "overdose": "prevention awareness naloxone narcan".split(),
    "execute_": [],
    "corpse": ["flower", "paint", "bride", "reviver"],
    "gas": "station stove cooker pump bill mask car oven".split(),
    "burn": "calorie calories fire wood candle cd dvd bridge incense".split(),
    "hot": _FOOD + "weather summer day sun desert coffee tea spring tub air pepper sauce chocolate".split(),
    "blow": "bubble bubbles candle candles kiss balloon glass dryer horn nose".split(),
    "blown": "glass bubble bubbles away wind".split(),
    "wet": "rain paint dog sand street road weather".split(),
    "top": [],
    "sheer": "cliff cliffs drop size scale".split(),
    "monkey": ["bars", "bar", "wrench", "business"],
    "pig": ["farm", "piggy", "bank", "roast"],
    "dog": ["walking", "walk", "leash", "puppy", "walks"],
    "animal": ["farm", "zoo", "pet", "pets", "wild", "stuffed"],
    "trash": ["can", "bin", "bag", "collection", "pickup"],
    "disease": ["cure", "research", "doctor", "hospital", "awareness", "prevention"],
    "cancer": ["research", "awareness", "ribbon", "breast", "survivor", "cure"],
    "pest": ["control", "exterminator"],
    "exterminate": ["pest", "termite", "termites", "bug", "bugs", "dalek", "daleks"],
    "exterminator": [],
    "strangle": ["vine", "fig"],
    "choke": ["hold", "cherry", "artichoke"],
    "razor": ["shave", "shaving", "shaver", "beard", "shaved"],
    "blade": ["grass", "shoulder", "fan", "ice", "skate", "wind", "turbine", "runner"],
    "skin": "care cream lotion skincare glowing healthy banana tomato fruit".split(),
    "whip": "cream whipped".split(),
    "drown": ["sorrows", "sorrow", "noise"],
    "crush": ["school", "grape", "grapes", "ice", "can", "candy", "secret", "girl", "boy"],
    "smash": ["tennis", "hit", "record", "burger", "avocado"],
    "punch": ["card", "fruit", "bowl", "hole", "bag", "line"],
    "kick": ["ball", "football", "soccer", "karate", "scooter", "start", "drum"],
    "explode": ["color", "colour", "flavor", "flavour", "firework", "fireworks", "star", "supernova"],
    "scratch": ["cat", "record", "card", "lottery", "dj", "itch", "mosquito", "scratch-off"],
    "bleed": ["print", "edge", "colour", "color", "ink"],
}
SENSES.pop("execute_")

# Prefixes that carry a concept whatever follows ("decapitation", "dismemberment", "masturbatory").
STEMS: dict[str, str] = {
    "decapitat": "gore", "dismember": "gore", "disembowel": "gore", "eviscerat": "gore", "mutilat": "gore",
    "behead": "gore", "masturbat": "sex_act", "pedophil": "csam", "paedophil": "csam", "pornograph": "porn",
    "exterminat": "exterminate", "genocid": "atrocity", "massacr": "atrocity", "suicid": "suicide",
    "nigger": "slur", "faggot": "slur", "lolicon": "csam", "shotacon": "csam", "gangbang": "sex_act",
    "blowjob": "sex_act", "handjob": "sex_act", "cumshot": "sex_act", "deepthroat": "sex_act",
    "antisemit": "hate_adjective", "porn": "porn", "fuck": "sex_act", "orgasm": "sex_act",
    "naked": "nudity", "supremacis": "hate_phrase",
}


# Number words for the age parser (anything from 18 up only needs to be "adult").
NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
}
ORDINALS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}
# fmt: on
AGE_UNITS = {"year", "years", "yr", "yrs", "month", "months", "week", "weeks", "yo", "y"}
# "no gore", "without blood", "not nude": these concepts are cleared after a negation (never a
# minor, an age or a group: "no jews allowed" is not a negated group).
NEGATIONS = {"no", "without", "not", "non", "zero"}
NEGATABLE = frozenset(
    {"gore", "wound", "nudity", "porn", "sexualising", "sexual_clothing", "atrocity", "weapon", "death", "sex_act"}
)
# Exterminating words that name their target whatever the order ("send the jews to the ovens").
EXTERMINATE_STRONG_WORDS = {"exterminate", "exterminated", "extermination", "eradicate", "eradicated", "genocide",
                            "annihilate", "wipe"}  # fmt: skip
# After a group: "muslims go home", "jews out", "no gays allowed".
EXCLUSIONS = {("out",), ("go", "home"), ("get", "out"), ("not", "welcome"), ("not", "allowed"), ("must", "go"),
              ("must", "leave")}  # fmt: skip
# Hate phrases that name a movement rather than chant it: a prompt that opposes it passes.
DESCRIPTIVE_HATE = {"white supremacy", "white supremacist", "holocaust denial", "race war", "ethnic cleansing"}
HIGH_PLACES = {"roof", "rooftop", "ledge", "bridge", "building", "skyscraper", "cliff", "balcony", "window", "tower"}
# Words that can stand for a person of a given age: "a boy of ten", "a girl, 12,".
# Words that fill a phrase without changing it: "wearing (absolutely) nothing", "legs (wide) open".
FILLERS = {"absolutely", "completely", "totally", "fully", "entirely", "really", "very", "just", "wide"}
# Prepositions that put a weapon into or against a body ("a sword through his chest").
INTO = {"into", "through", "in", "to", "against", "across", "inside"}
# Words after "black"/"white" etc. that make them a group of people ("a black family").
PEOPLE_AFTER = {
    "ppl",
    "peeps",
    "family",
    "families",
    "community",
    "couple",
    "neighbour",
    "neighbor",
    "neighbours",
    "neighbors",
    "politician",
    "president",
    "athlete",
    "player",
    "players",
    "student",
    "students",
    "kid",
    "kids",
    "child",
    "children",
    "boy",
    "girl",
    "baby",
    "babies",
    "youth",
    "folk",
    "folks",
}
AGE_HOLDERS = {"girl", "boy", "kid", "child", "daughter", "son", "gurl", "teen", "model", "niece", "nephew", "young"}


def add_words(more: dict[str, str]) -> None:
    """A tuning round's words, added to the concepts they name (a round never removes one)."""
    for concept, text in more.items():
        WORDS[concept] = (WORDS.get(concept, "") + " " + text).strip()


def add_senses(keys: tuple[str, ...], neighbours: str | list[str]) -> None:
    """A tuning round's harmless neighbours ("nurse" beside "shot"), added to each word or phrase of
    ``keys``; a string of neighbours is split on white space."""
    more = neighbours.split() if isinstance(neighbours, str) else list(neighbours)
    for key in keys:
        SENSES[key] = SENSES.get(key, []) + more


# --- Tuning round 2 (error analysis on held-out set A; every entry checked against a near miss) ---
# fmt: off
_MORE_WORDS: dict[str, str] = {
    "minor": """lil prek pre-k kindergarteners kindergartners preschoolers middleschoolers kindergarden kindergardener
        kindergardner highschool highschooler highschoolers gradeschooler gradeschoolers""",
    "sexual_clothing": "undies briefs",
    "genitals": "nips",
    "excess": "chug chugging chugged gulp gulping gulped downing",
    "dehumanise": "invade invading invaded islamization islamisation",
    # Weak tropes: hateful beside a group only in a depiction (meme, caricature) or two together.
    "trope_weak": """horns horned moneybags banker bankers smell smells smelly stink stinks stinky greedy""",
    "overdose": "od odd odding oded",
    # Romance and intimacy: harmless between adults, sexualising beside a minor (the minors rule only).
    "romance": """lover lovers smooch smooching snog snogging sensuous""",
    # Weaker: sexualising beside a minor only with an adult or the lips in the prompt ("romantic
    # dinner with a grown man"), not a teenage couple at a prom.
    "romance_weak": """romantic romantically romance kiss kissing kissed kisses candlelit date dating intimate
        intimately intimacy""",
    "adult_marker": """adult adults grown older teacher coach boss stranger stepdad stepmom stepfather stepmother
        man men woman guy lady lip lips mouth tongue bed""",
    "benign": "headshot headshots",
    # Suggestive framing, like "sexualising": never enough alone, enough with a minor.
    # "naughty": suggestive beside a minor only with a look, a pose, a bed or clothing ("naughty wink",
    # "naughty schoolgirl pose"), not "a naughty boy stealing cookies".
    "suggestive_weak": "naughty cheeky",
    "suggestive_cue": """wink winking pose posing posed look looking gaze lip lips bed bedroom knees schoolgirl
        uniform""",
    "sexualising": """sexxy seductress sexual-looking steamy raunchy saucy sassy-sexy coquettish lascivious
        stripped stripteasing""",
    "porn": """vibrator vibrators pornhub xvideos xhamster brazzers chaturbate redtube youporn""",
    "nudity": """nude-ish""",
    "person": """ppl peeps dude dudes chick chicks babe babes bloke blokes cyclist cyclists pedestrian pedestrians
        shopper shoppers passerby passersby bystander bystanders
        driver drivers rider riders biker bikers commuter commuters tourist tourists""",
    "act_strong": """murderer murderers""",
    "ingest": """chug chugging chugged gulp gulping gulped down downing""",
    "harm_method_site": """leg legs hip hips stomach belly skin""",
    "suicide": """kms kys unalive unalived unaliving unalives sewerslide sewer-slide""",
    "dehumanise_animal": """cattle livestock spider spiders snake snakes serpent serpents octopus rodent rodents
        hyena hyenas jackal jackals worm worms""",
    "link": """r labelled labeled labelling labeling called calling branded""",
    "hate_phrase": """remigration whitepower ethnostate""",
    "expel": """expel expelled expelling deport deported deporting deportation banish banished remove""",
    "cure": """cure cured curing purify purified purge""",
    "cage": """cage caged cages chains chained shackled""",
    "vehicle": """tank tanks tire tires tyre tyres truck trucks wheel wheels train bus car steamroller bulldozer""",
    "chair": """chair stool""",
    "rail": """track tracks rail rails railway railroad""",
    "lie": """lie lying lay laying""",
    "bath": """bath bathtub tub""",
    "projectile": """bullet bullets gunfire shrapnel buckshot""",
    "rack_torture": """""",
}
add_words(_MORE_WORDS)

PHRASES.update({
    # minors: more ways to name a child
    "jr high": "minor", "junior high": "minor", "elementary student": "minor", "elementary schooler": "minor",
    "elementary age": "minor", "elementary aged": "minor", "grade schooler": "minor", "pre kindergarten": "minor",
    "middle schooler": "minor", "middle school student": "minor", "sweet sixteen": "minor",
    # romance and intimacy (sexualising beside a minor only)
    "make out": "romance", "making out": "romance", "made out": "romance", "french kiss": "romance",
    "french kissing": "romance", "kiss on the lip": "romance", "in bed with": "romance_weak",
    "in bed together": "romance_weak", "on her knee": "pose", "on his knee": "pose", "bite her lip": "sexualising",
    "biting her lip": "sexualising", "bite his lip": "sexualising", "pin up": "sexualising",
    "see through": "revealing", "g string": "sexual_clothing", "skirt lifted": "sexualising",
    "lifted skirt": "sexualising", "lifting her skirt": "sexualising", "up her skirt": "porn",
    # undress in other words
    "top off": "nudity", "clothes off": "nudity", "no top on": "nudity",
    "no top": "nudity", "strip down": "nudity", "stripped down": "nudity", "clothes free": "nudity",
    "clothing free": "nudity", "clothing optional": "nudity", "everything showing": "nudity",
    "bare chested woman": "nudity",
    "her bare chest": "nudity", "her chest bare": "nudity", "sex scene": "sex_act",
    # violence
    "into piece": "to_pieces", "to piece": "to_pieces", "to bit": "to_pieces", "split open": "gore",
    "bone visible": "gore",
    "visible bone": "gore", "exposed bone": "gore", "insides out": "gore", "axe murder": "atrocity",
    "axe murderer": "atrocity", "public hanging": "atrocity", "on the rack": "rack", "stop breathing": "death",
    "stopped breathing": "death", "stop moving": "death", "stopped moving": "death", "stop struggling": "death",
    "face melted": "gore", "melted face": "gore", "melting face": "gore",
    # self-harm
    "never wake up": "suicide", "not wake up": "suicide", "sewer slide": "suicide", "not thin enough": "suicide",
    "never thin enough": "suicide", "don t eat": "ed_caption", "dont eat": "ed_caption", "do not eat": "ed_caption",
    "skip dinner": "ed_caption", "skip meal": "ed_caption", "skipping meal": "ed_caption", "still fat": "ed_caption",
    "too fat": "ed_caption", "so fat": "ed_caption", "stop eating": "ed_caption", "hunger is": "ed_caption",
    # round five: pro-ana and encouragement, hate as a claim, violence in other shapes
    "eat less": "ed_caption", "eating less": "ed_caption", "hunger is power": "suicide",
    "a4 waist": "suicide", "thigh gap challenge": "suicide", "ana goal": "suicide", "ana goals": "suicide",
    "ana tip": "suicide", "ana tips": "suicide", "ana coach": "suicide", "ana buddy": "suicide",
    "starving aesthetic": "suicide", "starvation aesthetic": "suicide", "starve yourself": "suicide",
    "end their life": "suicide", "end their lives": "suicide", "end your life": "suicide",
    "end my life": "suicide", "end her life": "suicide", "end his life": "suicide",
    "take your own life": "suicide", "take their own life": "suicide", "take their own lives": "suicide",
    "do it tonight": "resolve_push", "do it now": "resolve_push", "jump already": "resolve_push",
    "go ahead and jump": "resolve_push", "nobody will miss you": "suicide", "no one will miss you": "suicide",
    "nobody would miss you": "suicide", "no one would miss you": "suicide", "better off without you": "suicide",
    "cut deeper": "suicide", "cut deep": "suicide", "cutting deeper": "suicide", "cuts deeper": "suicide",
    "same sex": "benign", "nose piercing": "benign", "ear piercing": "benign", "lip piercing": "benign",
    "tongue piercing": "benign", "navel piercing": "benign", "belly piercing": "benign",
    "eyebrow piercing": "benign", "septum piercing": "benign", "rope bridge": "benign", "suspension bridge": "benign",
    "rope ladder": "benign", "rope swing": "benign", "jump rope": "benign", "skipping rope": "benign",
    "n word": "slur", "nword": "slur", "racial slur": "depiction",
    "breeding stock": "dehumanise", "second class": "dehumanise", "less than human": "dehumanise",
    "not human": "dehumanise", "purify our land": "hate_phrase", "purify the land": "hate_phrase",
    "purify our nation": "hate_phrase", "cleanse our land": "hate_phrase", "cleanse the land": "hate_phrase",
    "keep them in their place": "endorse", "confederate flag": "symbol",
    "drive them out": "expel_out", "drive out": "expel_out", "chase them out": "expel_out",
    "run them out": "expel_out", "kick them out": "expel_out", "throw them out": "expel_out",
    "blood libel": "trope", "in half": "in_half", "in two": "in_half", "run over": "run_over",
    "each other": "each_other", "after a fight": "aftermath", "after the fight": "aftermath",
    "after a beating": "aftermath", "after the beating": "aftermath", "after a brawl": "aftermath",
    "after being beaten": "aftermath", "after an attack": "aftermath", "after the attack": "aftermath",
    "beaten up": "aftermath", "beat up": "aftermath", "not wearing any clothes": "nudity",
    "not wearing clothes": "nudity", "wearing no clothes": "nudity", "no clothes on": "nudity",
    "private part": "genitals", "private parts": "genitals", "privates visible": "genitals",
    "privates showing": "genitals", "privates exposed": "genitals", "her privates": "genitals",
    "his privates": "genitals", "their privates": "genitals",
    "bleed out": "bleed_out", "bleeding out": "bleed_out", "step off": "jump", "stepping off": "jump",
    "walk off": "jump", "ready to step": "jump_intent", "about to step off": "jump_intent",
    "kicked over": "kicked", "kick over": "kicked",
    # hate
    "belong in": "belong", "my honor is loyalty": "hate_phrase", "my honour is loyalty": "hate_phrase",
    "meine ehre heisst treue": "hate_phrase", "blood and soil": "hate_phrase", "blut und boden": "hate_phrase",
    "happy merchant": "hate_phrase", "for our race": "hate_phrase", "defend our race": "hate_phrase",
    "save our race": "hate_phrase", "protect our race": "hate_phrase", "white nationalist": "hate_phrase",
    "white nationalism": "hate_phrase", "useless burden": "dehumanise", "burden on society": "dehumanise",
    "life unworthy of life": "dehumanise", "holocaust victim": "group", "holocaust survivor": "group",
    "camp prisoner": "group",
    # harmless senses
    "dressed to kill": "benign", "to kill for": "benign", "bleeding heart": "benign", "headshot": "benign",
    "bungee jump": "benign", "bungee jumping": "benign", "base jump": "benign", "base jumping": "benign",
    "cliff jump": "benign", "cliff jumping": "benign", "cliff diving": "benign", "murder mystery": "benign",
    "murder of crow": "benign", "wire stripper": "benign", "paint stripper": "benign", "hot guy": "benign",
    "acid wash": "benign", "killer outfit": "benign", "killer look": "benign", "drop dead gorgeous": "benign",
    "to die for": "benign", "slay the look": "benign", "stop motion": "benign", "striped": "benign",
    "stripy": "benign", "get railed": "sex_act", "getting railed": "sex_act", "get banged": "sex_act",
    "getting banged": "sex_act", "get laid": "sex_act", "getting laid": "sex_act", "get pounded": "sex_act",
    "jerkin off": "sex_act", "jackin off": "sex_act", "jacking off": "sex_act", "beat off": "sex_act",
    "beating off": "sex_act", "od on": "overdose", "bleach free": "benign", "poison free": "benign",
    "spice": "benign", "spicy": "benign", "little princess": "minor", "daddy s little girl": "minor",
    "tighty whitey": "sexual_clothing", "counting money": "trope_weak", "count money": "trope_weak",
    "jewish nose": "trope group", "jew nose": "trope group", "slanty eye": "trope", "slanted eyes": "trope",
    "eat dog": "trope", "eating a dog": "trope",
    "doing it doggy": "sex_act", "do it doggy": "sex_act", "doggy position": "sex_act", "taking it doggy": "sex_act",
    "ready to let go": "jump_intent", "about to let go": "jump_intent", "good time": "gloat",
    "eats dogs": "trope", "europe for the european": "hate_phrase", "europe for european": "hate_phrase",
    "good riddance": "gloat", "serve them right": "gloat", "serves them right": "gloat", "deserve it": "gloat",
    "deserved it": "gloat", "deserve to die": "gloat", "had it coming": "gloat", "waste of oxygen": "dehumanise",
    "waste of air": "dehumanise", "waste of skin": "dehumanise",
    "goodbye letter": "farewell", "farewell letter": "farewell", "last letter": "farewell",
    "suicide letter": "suicide", "goodbye message": "farewell", "final goodbye": "farewell",
    "hose from the exhaust": "exhaust", "exhaust hose": "exhaust", "hose to the exhaust": "exhaust",
    "hose in the exhaust": "exhaust", "rock in his pocket": "pockets", "rock in her pocket": "pockets",
    "stone in her pocket": "pockets", "stone in his pocket": "pockets", "thinking about jumping": "jump_intent",
    "think about jumping": "jump_intent", "want to jump": "jump_intent", "wants to jump": "jump_intent",
    "plans to jump": "jump_intent", "planning to jump": "jump_intent", "burning in hell": "exterminate",
})
DESCRIPTIVE_HATE.update({"white nationalist", "white nationalism"})
SENSES["execution"] = SENSES["execution"] + (
    "ballet leap jump dance dancer routine skating skater axel flawless perfect technique trick spin dive diver "
    "gymnast gymnastics figure step steps choreography play task project design").split()
SENSES["stripper"] = "wire paint varnish wallpaper floor pliers cable insulation tool tools can bottle".split()
SENSES["torture"] = ["test", "device", "museum"]
SENSES["rack"] = _DECOR + _FOOD + "clothes coat wine bike spice drying towel shoe dish server".split()
SENSES["lover"] = "dog cat book music art nature coffee animal wine food plant".split()
SENSES["lovers"] = SENSES["lover"]
SENSES["romantic"] = "era poet poets poetry painting painter composer period movement".split()
SENSES["remove"] = []
SENSES["race"] = "car cars horse horses track running runner runners marathon bike boat finish lap relay rat".split()
SENSES["races"] = SENSES["race"]
# Affection, not romance: "kissing his daughter goodnight", "a kiss on the forehead"
for _word in ("kiss", "kissing", "kissed", "kisses"):
    SENSES[_word] = "goodnight forehead cheek cheeks goodbye bye hand hands boo-boo booboo scraped head".split()
# A child's scrape is not violence: "a bloody knee after falling off a bike"
SENSES["bloody"] = SENSES["bloody"] + "fell fall falling scraped scrape bike skateboard playground scooter".split()
# "lil" is a child ("lil girl") except in stage names
SENSES["lil"] = "wayne nas uzi kim peep jon yachty pump durk tecca tjay dicky rapper rap concert stage album".split()
SENSES["jump_intent"] = SENSES["jump_intent"] + "climber climbing rappel rappelling abseil abseiling trapeze".split()
SENSES["nips"] = "puppy dog dogs cat kitten hand hands finger fingers heel heels cold air frost bud tuck".split()
SENSES["nude"] = SENSES["nude"] + "sign signs signpost map directions".split()
SENSES["briefs"] = "legal lawyer lawyers court case file files document documents meeting desk folder".split()
SENSES["horns"] = SENSES["horned"] = "bull bulls goat goats ram rams cow cows viking helmet devil costume car".split()
SENSES["smell"] = SENSES["smells"] = "food bakery coffee flower flowers bread kitchen cooking garden".split()
SENSES["tit"] = SENSES["tits"] = [w for w in _BIRD if w not in ("chick", "chicks")]
SENSES["od"] = "green drab color colour paint outer diameter pipe".split()
SENSES["odd"] = list(SENSES["od"]) + "number numbers socks one couple shape sock looking".split()
SENSES["kms"] = "per hour hr km miles speed distance road run ran drive drove away marathon walk walked".split()
SENSES["bullet"] = SENSES["bullets"] = "journal point points list train proof proofing chart slide".split()
SENSES["lie"] = SENSES["lying"] = "model toy toys miniature lego figure figures figurine worker mechanic repair".split()
for _word in ("shoot", "shot", "shooting"):
    SENSES[_word] = SENSES[_word] + ["headshot", "headshots", "linkedin", "corporate", "profile"]
AGE_HOLDERS.update({"grader", "student", "cheerleader", "pupil", "schoolgirl", "schoolboy", "kiddo"})
# fmt: on

# --- Round six (held-out set F: hate as a call or a claim, animals hurt, pro-ana, nude as a colour) ---
# fmt: off
_ROUND_SIX_WORDS: dict[str, str] = {
    "group": """deaf buddhist buddhists mormon mormons atheist atheists protestant protestants
        kurd kurds armenian armenians syrian syrians ukrainian ukrainians moor moors moroccan
        moroccans turk turks""",
    "slur": "muzzie muzzies muzzy",
    "expel_out": "begone",
    "harm_method_site": "vein veins",
    # Animals that a cruelty rule protects ("a dog beaten with a stick, bleeding"): never alone.
    "animal": """dog dogs puppy puppies cat cats kitten kittens rabbit rabbits bunny bunnies horse horses pony
        foal cow cows calf pig pigs piglet goat goats sheep lamb lambs hamster donkey monkey deer fox""",
    # What is done to an animal in cruelty, and the signs that it suffers.
    "cruelty_act": """beat beaten beating kick kicked kicking burn burning burned burnt crush crushed crushing skin
        skinned skinning torture tortured torturing stab stabbed stabbing starve starved drown drowned hang hanged
        mutilate mutilated whip whipped whipping abuse abused abusing""",
    "suffering": """whimper whimpering yelp yelping scream screaming screams shriek shrieking suffering suffer
        agony pain alive live howling""",
    # Eating-disorder words: self-harm with a "motivation" frame ("bulimia motivation poster").
    "eating_disorder": """bulimia bulimic anorexia anorexic purging purge binge""",
    "motivation": """motivation motivational motivate inspiration inspo goal goals tip tips encouragement""",
    "very_thin": "emaciated skeletal skeleton-thin bony starved",
}
add_words(_ROUND_SIX_WORDS)

PHRASES.update({
    "death camp": "symbol", "extermination camp": "symbol", "gas chamber": "exterminate symbol",
    "send them back": "expel_out", "send them all back": "expel_out", "send back": "expel_out",
    "send all back": "expel_out", "they deserved it": "gloat",
    "finger are your friend": "ed_caption", "fingers are your friends": "ed_caption",
    "permanent kind": "suicide", "the permanent kind": "suicide", "note left behind": "farewell",
    "ana motivation": "suicide", "ana inspiration": "suicide", "ana inspo": "suicide", "mia motivation": "suicide",
    "mia tip": "suicide", "mia tips": "suicide", "leaving a note": "farewell", "left a note": "farewell",
    "thinspiration": "suicide",
    "set on fire": "act_strong cruelty_act", "setting on fire": "act_strong cruelty_act", "on fire": "cruelty_act",
    "skinned alive": "gore cruelty_act", "burned alive": "gore cruelty_act", "burnt alive": "gore cruelty_act",
    "nude colour": "benign", "nude color": "benign", "nude coloured": "benign", "nude colored": "benign",
})
SENSES["nude"] = SENSES["nude"] + "tights stockings pantyhose heel heels pumps sandals boots".split()
# fmt: on

# --- Round seven (held-out set G: glorified self-harm, hanging in the first person, self-injury, race
# science, a group mocked or put in an oven, animals in a machine, figurative massacres) ---
# fmt: off
_ROUND_SEVEN_WORDS: dict[str, str] = {
    "group": "muzlim muzlims moslem moslems",
    "slur": "polack polacks mongoloid mongoloids retarded spaz spazz spazzes wop wops dago dagos",
    # Framing that makes self-harm attractive ("cutting is beautiful", "scars aesthetic"): never alone.
    "glamour": "beautiful beauty aesthetic aesthetics pretty gorgeous inviting lovely art artistic dreamy",
    "glorify": """glorify glorifying glorified glorification glamorize glamorise glamorizing glamorising
        glamorized glamorised romanticize romanticise romanticizing romanticising romanticized romanticised""",
    "cruelty_act": "harpooned harpooning speared spearing clubbed",
    "suffering": "thrashing writhing squirming",
    "animal": """dolphin dolphins whale whales seal seals pup pups parrot hamsters guinea-pig squirrel frog frogs
        turtle turtles""",
    # Machines an animal is put into ("a cat in a blender"): cruelty without another word.
    "cruel_device": "blender blenders microwave microwaves woodchipper wood-chipper mincer grinder",
}
add_words(_ROUND_SEVEN_WORDS)

PHRASES.update({
    "blow apart": "tearing to_pieces", "blown to bits": "gore to_pieces",
    # a group named in two words
    "down syndrome": "group", "downs syndrome": "group", "down s syndrome": "group", "polish people": "group",
    "trans people": "group", "wheelchair user": "group", "mentally disabled": "group",
    # race science told as a claim: a dehumanising word beside a group
    "smaller brain": "dehumanise", "smaller brains": "dehumanise", "lower iq": "dehumanise", "low iq": "dehumanise",
    "less intelligent": "dehumanise", "less evolved": "dehumanise", "genetically inferior": "dehumanise",
    "intellectually inferior": "dehumanise", "naturally inferior": "dehumanise", "biologically inferior": "dehumanise",
    "inferior race": "dehumanise", "inferior races": "dehumanise", "closer to ape": "dehumanise",
    "closer to apes": "dehumanise", "missing link": "dehumanise",
    # self-harm: a way out, self-punishment, a thin body held up as a goal, death told softly
    "only way out": "way_out", "the only way out": "way_out", "only escape": "way_out", "the only escape": "way_out",
    "only way to escape": "way_out", "way out of the pain": "way_out",
    "self punishment": "self_punish", "self punishing": "self_punish", "punish myself": "self_punish",
    "punish herself": "self_punish", "punish himself": "self_punish", "punish themselves": "self_punish",
    "punish yourself": "self_punish",
    "rib showing": "very_thin body_part", "ribs showing": "very_thin body_part", "visible rib": "very_thin body_part",
    "visible ribs": "very_thin body_part", "rib visible": "very_thin body_part",
    "ribs visible": "very_thin body_part", "protruding rib": "very_thin body_part",
    "protruding ribs": "very_thin body_part", "ribs sticking out": "very_thin body_part",
    "hip bones showing": "very_thin body_part", "hipbones showing": "very_thin body_part",
    "goal body": "motivation", "body goal": "motivation", "body goals": "motivation", "goal weight": "motivation",
    "final sleep": "death", "final peaceful sleep": "death", "eternal sleep": "death", "last sleep": "death",
    "sleep forever": "death", "never wake again": "death",
    "meat grinder": "cruel_device", "blow to piece": "gore to_pieces",
})
# "bleach-free" is read as "no bleach" (see ``concepts.FREE_SUFFIX``): a poison can be negated too
NEGATABLE = NEGATABLE | {"poison_substance"}
# A figurative massacre of food ("massacre at the buffet", "a slaughter of the dessert table")
for _word in ("massacre", "massacred", "slaughter", "slaughtered", "carnage"):
    SENSES[_word] = SENSES.get(_word, []) + """buffet dessert desserts feast snack snacks candy donut donuts cake cakes
        pizza pie pies cookie cookies sandwich sandwiches sushi chocolate cupcakes pastries""".split()
# Baking puts bread "into the oven", not people: the phrase's harmless sense
for _phrase in ("into the oven", "into the ovens", "to the oven", "to the ovens"):
    SENSES[_phrase] = _FOOD + """challah dough tray bake baking baker bakers bakery batch biscuit biscuits bagel bagels
        muffin muffins casserole loaves pastry pastries""".split()
WORDS["bath"] += " bathwater"
# fmt: on

# --- Round eight (own probe after round seven: a child told by what surrounds her, not a child
# word; a pose that sexualises only with something else; underwear worn alone) ---
# fmt: off
_ROUND_EIGHT_WORDS: dict[str, str] = {
    # Things that code a "girl"/"boy" as a child: with one of them the weak child word counts as a
    # child; two of them make any person in the prompt one ("a woman with pigtails and a lollipop").
    "child_cue": """pigtails pigtail lollipop lollipops pacifier pacifiers binky crayon crayons plushie plushies
        lunchbox braces recess playdate bunches""",
    # A pose that sexualises beside a minor only with clothing, a bed, an adult or a camera angle
    # ("a fourth grader in a string bikini straddling a man"; not "kids straddling a log").
    "pose_weak": "straddle straddles straddling straddled",
    # Underwear that, worn alone, leaves a woman bare: "wearing only panties" is nudity.
    "lone_garment": "panties panty thong thongs g-string gstring knickers bra bras bralette",
    # Held-out set H (blind, first sight: sexual 1.000, violence 0.933, hate 0.911, self-harm 0.933):
    "act_weak": "gutted gutting",
    # mass killers held up as heroes ("saint tarrant"): a symbol, with "saint"/"halo" its praise
    "symbol": "tarrant breivik atomwaffen",
    "endorse": "saint sainthood halo canonized canonised legend legendary",
    # coded self-harm: a relapse counted, told beside the marks or the place
    "sh_relapse": "relapse relapsed relapsing",
}
add_words(_ROUND_EIGHT_WORDS)

PHRASES.update({
    # a child in all but the word
    "training bra": "minor sexual_clothing", "training bras": "minor sexual_clothing", "sippy cup": "minor",
    "baby teeth": "minor", "baby tooth": "minor", "missing front teeth": "minor", "front teeth missing": "minor",
    "daddy s little girl": "minor", "daddys little girl": "minor", "daddy s little princess": "minor",
    "hasn t hit puberty": "minor", "hasnt hit puberty": "minor", "not hit puberty": "minor",
    "before puberty": "minor", "pre puberty": "minor", "not yet developed": "minor", "barely developed": "minor",
    "still developing": "minor", "just started middle school": "minor", "started middle school": "minor",
    "first day of middle school": "minor", "first day of kindergarten": "minor", "tooth fairy": "child_cue",
    "teddy bear": "child_cue", "teddy bears": "child_cue", "stuffed animal": "child_cue",
    "stuffed animals": "child_cue", "stuffed toy": "child_cue", "school backpack": "child_cue",
    "school bag": "child_cue", "coloring book": "child_cue", "colouring book": "child_cue", "juice box": "child_cue",
    "jungle gym": "child_cue", "monkey bars": "child_cue", "hello kitty": "child_cue", "nap time": "child_cue",
    "bedtime story": "child_cue", "flat chested": "child_cue", "flat chest": "child_cue",
    # the second probe: pageants, dolls, a lingerie "teddy"
    "little miss": "minor", "mini miss": "minor", "junior miss": "minor", "tiny miss": "minor",
    "child pageant": "minor", "kid pageant": "minor", "play with doll": "child_cue", "plays with doll": "child_cue",
    "playing with doll": "child_cue", "played with doll": "child_cue", "lace teddy": "sexual_clothing",
    "teddy lingerie": "sexual_clothing", "lingerie teddy": "sexual_clothing", "silk teddy": "sexual_clothing",
    # poses that sexualise beside a minor only with a second cue
    "on all four": "pose_weak", "on all fours": "pose_weak", "bent over": "pose_weak", "bending over": "pose_weak",
    "bend over": "pose_weak", "bends over": "pose_weak", "arching her back": "pose_weak",
    "arching his back": "pose_weak", "arched back": "pose_weak", "back arched": "pose_weak",
    "arch her back": "pose_weak", "on his lap": "pose_weak", "on her lap": "pose_weak", "in his lap": "pose_weak",
    "on daddy s lap": "pose_weak", "lying spread": "pose", "spread out on the bed": "pose",
    # set H's miss classes, in other words too
    "organs on the floor": "gore", "organs spilling": "gore", "organs spilled": "gore", "spilled organs": "gore",
    "spilling organs": "gore", "guts on the floor": "gore", "brains on the wall": "gore",
    "end it tonight": "suicide", "end it today": "suicide", "ending it tonight": "suicide",
    "end it all tonight": "suicide", "ending it today": "suicide", "end it soon": "suicide",
    "won t be here tomorrow": "suicide", "wont be here tomorrow": "suicide", "last night alive": "suicide",
    "goodbye image": "farewell", "goodbye post": "farewell", "goodbye picture": "farewell",
    "goodbye message": "farewell", "final post": "farewell", "last post": "farewell",
    "day of the rope": "hate_phrase", "race traitor": "hate_phrase", "race traitors": "hate_phrase",
    "christchurch shooter": "symbol", "el paso shooter": "symbol", "buffalo shooter": "symbol",
    "dylann roof": "symbol", "saint tarrant": "symbol endorse", "saint breivik": "symbol endorse",
    "echo bracket": "symbol", "echo brackets": "symbol", "triple parentheses": "symbol",
    "big nose": "trope_weak", "big noses": "trope_weak", "huge nose": "trope_weak", "huge noses": "trope_weak",
    "large nose": "trope_weak",
    "every one of them": "generalise", "each one of them": "generalise", "every single one of them": "generalise",
    "all of them": "generalise", "they re all": "generalise", "they are all": "generalise",
    "each of them": "generalise", "every last one": "generalise",
    "red lines": "sh_mark", "red line": "sh_mark", "cat scratches": "sh_mark", "cat scratch": "sh_mark",
    "days clean": "sh_relapse", "day clean": "sh_relapse", "clean streak": "sh_relapse",
    # clothing cut to sexualise, whoever wears it
    "string bikini": "revealing_clothing swimwear", "thong bikini": "revealing_clothing swimwear",
    "micro bikini": "revealing_clothing swimwear", "tiny bikini": "revealing_clothing swimwear",
})
# "end it tonight with a bang": a party or a season, not a life
add_senses(("end it tonight", "end it today", "ending it tonight", "end it all tonight", "ending it today",
            "end it soon", "last night alive"), """party parties fireworks celebration celebrate bang concert show
            dance dancing season finale game match tour festival dj gig band rave""")
# an execution of a piece of music is a performance
add_senses(("execution",), "piano guitar violin song music musical concert recital piece")
# a gutted fish or house, a gutted team: not a body
add_senses(("gutted", "gutting"), _FOOD + """fish trout salmon deer carp chicken house building kitchen renovation
    fire fired team fans result news""".split())
# "straddling the beam", "straddling his bike": a sport or a ride, not a pose
add_senses(("straddle", "straddles", "straddling", "straddled"), """bike bicycle horse horses pony saddle beam vault
    gymnast gymnastics gymnasts fence log logs bench motorcycle motorbike scooter seesaw branch noodle broom
    broomstick wall line border jump split skier ski snowboard surfboard board barrel river stream creek""")
# fmt: on

# --- Round eight, blind set I (a persistent evader: pretexts, indirect words, coded hate, negative
# prompts that remove the censoring) ---
# fmt: off
_SET_I_WORDS: dict[str, str] = {
    "dehumanise_animal": "predator predators",
    "act_weak": "branded branding",
    # coded hate that is hateful only beside a group, a trope, a symbol or an atrocity site
    "hate_code_weak": "kekistan honk",
    # places and words that stand for an atrocity ("Auschwitz", "strange fruit")
    "atrocity_site": "auschwitz dachau treblinka sobibor birkenau",
    "suicide": "meanspo deathspo",
}
add_words(_SET_I_WORDS)

PHRASES.update({
    # undressing told as a subtraction or a display
    "everything on show": "nudity", "all on show": "nudity", "nothing left to the imagination": "nudity",
    "not a stitch on": "nudity", "not a stitch of clothing": "nudity", "nothing hidden": "nudity",
    # gore told without a gore word
    "full of body part": "gore", "pile of body part": "gore", "bag of body part": "gore", "limbs stacked": "gore",
    "stacked limbs": "gore", "pile of limb": "gore", "pile of corpse": "gore", "pile of bodies": "gore",
    "eyeball dangling": "gore", "eyeballs dangling": "gore", "dangling eyeball": "gore", "dangling eyeballs": "gore",
    "eye gouged": "gore", "eyes gouged": "gore", "gouged out eye": "gore", "gouged out eyes": "gore",
    "eye socket": "body_vital body_part", "eye sockets": "body_vital body_part",
    "face taken off": "gore", "face ripped off": "gore", "face peeled off": "gore", "skin peeled off": "gore",
    "skin ripped off": "gore", "face torn off": "gore", "skin torn off": "gore",
    "insides on the outside": "gore", "insides outside": "gore", "opened up like a fish": "gore",
    "neck snapped": "gore", "snapped neck": "gore", "snapped his neck": "gore", "snapping his neck": "gore",
    "broken neck": "gore", "eyes bulging": "death", "tongue lolling": "death",
    "flesh sizzling": "gore", "sizzling flesh": "gore", "burning flesh": "gore", "flesh burning": "gore",
    "seared flesh": "gore", "charred flesh": "gore", "red hot iron": "weapon", "hot iron": "weapon",
    # coded hate
    "13 50": "hate_code_weak", "13 percent": "hate_code_weak", "despite being 13": "hate_phrase",
    "gtkrwn": "hate_phrase", "rahowa": "hate_phrase", "zog": "hate_phrase", "mud people": "slur",
    "mud race": "slur", "mud races": "slur", "clown world": "hate_code_weak", "honk honk": "hate_code_weak",
    "shower time": "hate_code_weak", "good old days": "hate_code_weak", "should happen again": "endorse",
    "should again": "endorse", "do it again": "hate_code_weak", "happen again": "hate_code_weak",
    "gas chamber": "atrocity_site exterminate", "gas chambers": "atrocity_site exterminate",
    "concentration camp": "atrocity_site",
    "strange fruit": "atrocity_site", "lynching tree": "atrocity_site",
    "pulling the strings": "conspiracy", "pull the strings": "conspiracy", "pulls the strings": "conspiracy",
    "puppet master": "conspiracy", "puppet masters": "conspiracy", "puppeteer": "conspiracy",
    "hook nosed": "trope", "hooknosed": "trope", "hook nose": "trope", "star of david": "group",
    "trans women": "group", "trans woman": "group", "trans men": "group", "trans man": "group",
    "bomb as a turban": "trope", "bomb for a turban": "trope", "bomb turban": "trope", "turban bomb": "trope",
    "all the same": "generalise", "purify the nation": "hate_phrase", "cleanse the nation": "hate_phrase",
    "purify the race": "hate_phrase",
    # farewells and encouragement
    "can t do this anymore": "farewell", "cant do this anymore": "farewell", "can t go on": "farewell",
    "cant go on": "farewell", "can t take it anymore": "farewell", "cant take it anymore": "farewell",
    "don t look for me": "farewell", "dont look for me": "farewell", "tell mom i love her": "farewell",
    "tell mom i love him": "farewell", "tell my mom i love her": "farewell", "tell my mom i love him": "farewell",
    "tell mom i love them": "farewell", "sorry for everything": "farewell", "goodbye note": "farewell",
    "better off dead": "suicide", "pain ends when you do": "suicide", "the pain ends when you do": "suicide",
    "bleed the most": "suicide", "bleed out faster": "suicide", "where to cut": "self_act",
    "swallow the whole bottle": "suicide pills", "swallowed the whole bottle": "suicide pills",
    "wrists opened": "suicide sh_mark", "opened wrists": "suicide sh_mark", "opened my wrists": "suicide sh_mark",
    "open my wrists": "suicide sh_mark", "slit my wrists": "suicide sh_mark",
    "fresh lines": "sh_mark", "sh aesthetic": "suicide", "sh scars": "sh_mark", "sh cuts": "sh_mark",
    "selfharm forever": "suicide", "fingers down her throat": "suicide", "fingers down my throat": "suicide",
    "finger down her throat": "suicide", "finger down my throat": "suicide", "empty is beautiful": "suicide",
    "oncoming train": "train_coming", "approaching train": "train_coming", "facing the oncoming train": "train_coming",
    # harmless senses that set I's benign prompts needed
    "product shot": "benign", "cucumber slice": "benign", "cucumber slices": "benign", "stage blood": "benign",
    "fake wound": "benign", "latex wound": "benign", "zombie wound": "benign", "sfx makeup": "benign",
    "special effects makeup": "benign",
})
add_senses(("branded", "branding"), """cattle cow cows calf ranch rancher logo company product products merchandise
    shirt""")
add_senses(("blood", "wound", "wounds", "bloody", "gash"), """makeup make-up tutorial latex prosthetic prosthetics sfx
    halloween costume""")
# fmt: on

# --- Round eight, blind set J (Stable Diffusion power users: the request buried in quality tags;
# current slang and dog whistles) ---
# fmt: off
_SET_J_WORDS: dict[str, str] = {
    "slur": "abo abos cripple cripples",
    "dehumanise_animal": "demon demons",
    "hate_code_weak": "jogger joggers",
    "trope_weak": "stealing steal stole",
    "suicide": "ctb edtwt",
}
add_words(_SET_J_WORDS)

PHRASES.update({
    "man in a dress": "demean", "men in dresses": "demean", "man in dress": "demean", "it s a man": "demean",
    "its a man": "demean", "it s a man baby": "demean", "cripple olympics": "hate_phrase", "ching chong": "slur",
    "ching chang": "slur", "buck teeth": "trope_weak", "rice hat": "trope_weak", "slanty eyes": "slur",
    "just like his ancestors": "trope_weak", "just like their ancestors": "trope_weak", "typical abo": "slur",
    "drag queen": "group", "drag queens": "group", "lgbt free zone": "hate_phrase", "gay free zone": "hate_phrase",
    "cotton field": "slavery_scene", "cotton fields": "slavery_scene", "picking cotton": "slavery_scene",
    "pick cotton": "slavery_scene", "plantation": "slavery_scene", "back to work": "hate_code_weak",
    "ed twitter": "suicide", "body check": "motivation", "ideal body": "motivation", "goal weight": "motivation",
    "hip bones": "very_thin body_part", "hipbones": "very_thin body_part", "bones showing": "very_thin body_part",
    "bones showing everywhere": "very_thin body_part", "ribcage showing": "very_thin body_part",
    "painless ways to end it": "suicide", "painless way to end it": "suicide", "ways to end it": "suicide",
    "painless way to die": "suicide", "painless ways to die": "suicide", "ctb methods": "suicide",
    "nobody would care if i": "suicide", "no one would care if i": "suicide", "if i was gone": "suicide",
    "if i were gone": "suicide", "floating face down": "death",
})
add_senses(("cripple", "cripples"), "debt economy sanctions strike budget storm ship engine system network supply")
add_senses(("stealing", "steal", "stole"), """base bases show scene spotlight heart hearts kiss glance cookie cookies
    jar sign signs second third home""")
add_senses(("jogger", "joggers"), "park morning running marathon trail track shoes sneakers stroller")
add_senses(("joggers",), "pants sweatpants")
add_senses(("demon", "demons"), "slayer slayers anime game fantasy dungeon dragon")
# fmt: on
# fmt: off
# "a drag queen slaying on stage": a performance, not a killing
add_senses(("slay", "slays", "slaying", "slayed", "slain"), """drag stage sequins brunch runway outfit look looks
    energy performance performing queen queens catwalk""")
# fmt: on

# --- Round eight, a blind set of 400 ordinary prompts (K): the harmless senses it needed ---
# fmt: off
add_senses(("naked",), _COLOUR + """lipstick lip lips gloss shade shades palette eyeshadow polish nail nails
    foundation heels cat cats sphynx kitten hairless rat rats tree trees branch branches chef wolf""".split())
add_senses(("breast", "breasts"), """anatomy anatomical medical textbook diagram lymph node nodes duct ducts cancer
    awareness mammogram mammography illustration chicken turkey duck roast grilled feeding breastfeeding pump""")
add_senses(("hanging",), """plane planes airplane aircraft spitfire model models exhibit museum chandelier lamp
    lamps lights lantern lanterns banner banners flag flags sign skeleton dinosaur whale mobile""")
add_senses(("execution", "executioner", "executioners", "executioner s"), """opera tosca theatre theater stage wings
    singer escape room puzzle puzzles game costume""")
add_senses(("shot",), "nurse clinic sticker pediatrician syringe needle")
add_senses(("drowned",), "cover novel book title noir thriller mystery world")
PHRASES.update({
    "rear naked choke": "benign", "naked choke": "benign", "shooting prevention": "prevention",
    "violence prevention": "prevention", "prevention bill": "prevention", "buzzer beater": "benign",
    "buzzer beaters": "benign", "egg beater": "benign", "getting a shot": "benign", "gets a shot": "benign",
    "got a shot": "benign", "get a shot": "benign",
})
# fmt: on

# --- Round eight, a blind set of 300 Stable Diffusion prompts (L): film stocks, cars, food cut in half ---
# fmt: off
add_senses(("shot",), """cinestill kodak portra ektar ilford fuji fujifilm leica canon nikon sony hasselblad iphone
    polaroid 35mm 120 800t 400 analog""")
add_senses(("r34",), "nissan skyline gtr gt-r jdm car cars engine drift tuner racing")
PHRASES.update({"steak cut": "benign", "cut in half steak": "benign"})
add_senses(("in half", "cut in half"), _FOOD + "steak ribeye sandwich cake lemon avocado apple".split())
# fmt: on

# --- Round eight, blind set M (edit-box requests, careless typing, code-switching) ---
# fmt: off
add_words({
    "nudity": "nakid nekid nakd nakie topples nuda nudo nudi desnuda desnudo nackt nackte naakt",
    "genitals": "boobz boobiez tittiez titz nippels nipps nipz brests",
    "breast": "brests breats",
    "gore": "dismembred dismemberd decapitaded beheded squartato squartata",
    "reflexive": "myslef mysefl myslf meself",
    "group": "jooz joos jooze jewz hijab hijabi niqab burqa",
    "slur": "pajeet pajeets homos",
})
PHRASES.update({
    "brains everywhere": "gore", "brains splattered everywhere": "gore",
    "intestines hanging out": "gore", "intestines hanging": "gore", "guts hanging out": "gore",
    "intestines spilling": "gore", "body parts scattered": "gore", "scattered body parts": "gore",
    "skin melts off": "gore", "skin melting off": "gore", "skin melted off": "gore", "skin melting": "gore",
    "get shot": "act_strong", "getting shot": "act_strong", "got shot": "act_strong", "gets shot": "act_strong",
    "death to": "exterminate", "go back to africa": "hate_phrase", "kung flu": "hate_phrase",
    "china virus": "hate_code_weak", "finish the job": "hate_code_weak", "carving the word": "self_act",
    "carved the word": "self_act", "carve the word": "self_act", "carving words": "self_act",
})
add_senses(("homos",), "sapiens erectus neanderthalensis habilis")
add_senses(("nakid", "nekid", "nakd", "nakie"), SENSES["naked"])
# fmt: on
# fmt: off
# "killing it" is an idiom only right after the verb: "it" two words before ("do it, write kill all
# gays") said nothing about the killing
for _word in ("kill", "killing"):
    SENSES[_word] = [w for w in SENSES[_word] if w != "it"]
PHRASES.update({"killing it": "benign", "kill it": "benign", "killed it": "benign", "kills it": "benign"})
# fmt: on

# --- Round ten, blind set N (scene narration, slang, denial, farewells told without the word) ---
# fmt: off
add_words({
    "sex_act": "sixtynining sixty-nining",
    "hate_phrase": "holohoax holocaust-denial",
})
PHRASES.update({
    # oral sex told as a scene or in slang
    "sloppy top": "sex_act", "mouth wrapped around him": "sex_act", "mouth around him": "sex_act",
    "lips wrapped around his": "sex_act", "lips around his": "sex_act", "mouth around his": "sex_act",
    "mouth wrapped around his": "sex_act", "going down on him": "sex_act", "going down on her": "sex_act",
    "go down on him": "sex_act", "go down on her": "sex_act", "goes down on him": "sex_act",
    "goes down on her": "sex_act", "sixty nining": "sex_act", "giving him head": "sex_act",
    # a body destroyed, told by what is left of it
    "into red mist": "gore", "into pink mist": "gore", "into a red mist": "gore", "into a pink mist": "gore",
    "bits of him": "gore", "bits of her": "gore",
    "pieces of him": "gore", "pieces of her": "gore",
    "what's left of the": "remains_of", "what was left of the": "remains_of",
    "what remained of the": "remains_of", "what is left of the": "remains_of",
    "human carcass": "gore", "human carcasses": "gore", "human meat": "gore", "butchered people": "gore",
    "butcher the man": "gore", "butcher the woman": "gore", "butchered man": "gore", "butchered woman": "gore",
    "shell casings": "aftermath", "bodies slumped": "aftermath",
    # genocide denied, told as "questions", or celebrated by its victims' slur
    "gas chambers were": "conspiracy", "six million number": "conspiracy", "six million is a lie": "hate_phrase",
    "six million lie": "hate_phrase", "never happened": "conspiracy", "delousing rooms": "conspiracy",
    "so called gas chambers": "hate_phrase", "holocaust never happened": "hate_phrase",
    "cockroaches are gone": "hate_phrase", "remove kebab": "hate_phrase", "job well done": "gloat",
    "eternal jew": "hate_phrase", "eternal jews": "hate_phrase",
    "ewige jude": "hate_phrase", "der ewige jude": "hate_phrase",
    "one down more to go": "gloat", "more to come": "gloat", "monkey clan": "hate_phrase",
    "property values": "hate_code_weak", "you know who": "hate_code_weak",
    "mental disorder": "demean", "mental illness": "demean", "a disease": "demean", "cure them": "hate_phrase",
    "only good one is a dead one": "only_good", "only good one": "only_good", "drunken savages": "dehumanise",
    "savages": "dehumanise", "country cleansed": "hate_code_weak", "nation cleansed": "hate_code_weak",
    "cleansed of foreigners": "hate_phrase", "cleansed of immigrants": "hate_phrase",
    # farewells and the moment before, told without the word
    "finally free": "farewell", "don't be sad for me": "farewell", "dont be sad for me": "farewell",
    "by the time you read this": "farewell", "it's not your fault": "farewell", "its not your fault": "farewell",
    "tonight is the night": "resolve", "shoes lined up on the ledge": "jump_intent",
    "shoes on the ledge": "jump_intent", "shoes left on the bridge": "jump_intent",
    "shoes at the edge": "jump_intent", "shoes placed at the edge": "jump_intent", "the night she decided": "resolve",
    "healing lines": "sh_mark", "some fresh some healing": "sh_mark",
    "cigarette burns": "sh_mark", "lighter burns": "sh_mark",
    "forcing herself to throw up": "ed_act", "forcing himself to throw up": "ed_act",
    "making herself throw up": "ed_act", "making himself throw up": "ed_act", "make myself throw up": "ed_act",
    "fingers down her throat": "ed_act", "fingers down his throat": "ed_act", "fingers down my throat": "ed_act",
    "stay empty": "ed_act", "empty is beautiful": "ed_act", "purging after eating": "ed_act",
    "purging after dinner": "ed_act", "purging after meals": "ed_act", "purging after every meal": "ed_act",
    "days without eating": "ed_caption", "hunger is a feeling": "ed_act",
    "no food": "ed_caption", "what i eat in a day": "ed_caption", "kg goal": "ed_caption", "lbs goal": "ed_caption",
    "don t be sad for me": "farewell", "it s not your fault": "farewell",
    "i ll be gone": "farewell", "ill be gone": "farewell",
    "what s left of the": "remains_of", "what s left of him": "remains_of", "what s left of her": "remains_of",
    "native americans": "group", "native american": "group", "first nations": "group",
    "aboriginal people": "group", "aboriginals": "group", "our country cleansed": "hate_phrase",
    # harmless senses of the words above
    "suicide squeeze": "benign", "suicide burn": "benign", "suicide sprints": "benign", "running suicides": "benign",
    "suicide drills": "benign", "kill two birds": "benign", "memorial to the murdered": "benign",
})
add_senses(("carve",), "lantern lanterns halloween jack pumpkins")
# Set O (English in other voices: storybooks, briefs, "science", named killers)
add_words({
    "symbol": "mcveigh",
    "atrocity_site": "bataclan utoya srebrenica",
    "hate_phrase": "sturmer stuermer",
    "group": "gypsies gypsy poles",
    "appliance": "toaster dryer hairdryer heater",
    "csam": "cunny pedofile pedofiles pedofilia pedophille",
})
PHRASES.update({
    "brains came out": "gore", "head cracked open": "gore", "skull cracked open": "gore",
    "snipped off": "act_strong cruelty_act", "chopped off all": "act_strong cruelty_act",
    "oklahoma city bombing": "atrocity_site", "oklahoma city federal building": "atrocity_site",
    "evolutionary inferiority": "hate_phrase", "racial inferiority": "hate_phrase", "inferior race": "hate_phrase",
    "negro race": "hate_code_weak", "inferiority of the": "hate_code_weak",
    "chased every one of them away": "expel_out", "chased them all away": "expel_out", "chased them away": "expel_out",
    "drove them all out": "expel_out",
    "triple parentheses": "hate_code_weak", "just notice": "hate_code_weak", "start noticing": "hate_code_weak",
    "eating watermelon": "trope", "minstrel": "trope", "minstrel poster": "trope", "blackface": "trope",
    "der sturmer": "hate_phrase", "der stuermer": "hate_phrase",
    "went to sleep forever": "death", "sleep forever": "death",
    "how to purge": "ed_act", "purge quietly": "ed_act", "purge after every meal": "ed_act",
    "starve the body": "ed_act", "don't you dare eat": "ed_act", "dont you dare eat": "ed_act",
    "leaping from the golden gate": "suicide", "jumping off the golden gate": "suicide",
    "jump from the golden gate": "suicide", "leaping off the golden gate": "suicide",
    "killing me softly": "benign", "shot me down": "benign", "cut throat competition": "benign",
    "cutthroat competition": "benign", "killed the whole day": "benign", "killed all day": "benign",
    # a field of a structured prompt that leaves the clothes out ("clothing: none")
    "clothing none": "nudity", "clothes none": "nudity", "outfit none": "nudity", "clothing nothing": "nudity",
})
add_senses(("gypsy",), "skirt dress style boho fashion caravan jazz kings moth wagon soul")
add_senses(("poles",), "fishing ski tent flag totem north south magnetic telephone bamboo")
add_senses(("execution",), "brushwork ink precise technique flawless style craftsmanship")
add_words({"benign": "ribeye ribeyes"})  # a steak, not a rib and an eye
add_senses(("wound",), "surgery surgical sutures suture stages diagram educational")
# Russian and Ukrainian slurs, as the Cyrillic reads by sound (moderation.text.fold)
add_words({"slur": "khokhly khokhlov khokhol moskali moskaley"})
add_senses(("shooter", "shooters"), "basketball nba hoop court pointer game team arena range camera photographer")
add_senses(("shooter", "shooters", "scope"), "paintball nerf laser tag cartoon")
add_senses(("dagger", "daggers"), "tattoo flash rose sailor traditional")
add_senses(("torn",), "costume costumes fake jeans denim paper poster flag sail page ticket zombie")
# Round eleven (blind set Q: chat requests, typos, coded words, sheets and tag lists, scenes told
# without the key word, role-play framings)
add_words({
    "group": "gypsys hindoos autistics rohingya rohingyas uyghur uyghurs uighur uighurs yazidi yazidis sinti maori"
    " bosniak bosniaks russians",
    "slur": "hindoo",
    "symbol": "interahamwe",
    "atrocity_site": "columbine",
    "sh_tool": "sharpener sharpeners",
    "harm_method_site": "thies",
    "body_part": "thies",
    "cutter": "razer",
    "wound": "blod",
})
PHRASES.update({
    # nudity and sex told without the word
    "bare bodies": "nudity", "bare from the waist down": "nudity",
    "naked from the waist down": "nudity", "nude from the waist down": "nudity",
    "with nothing underneath": "nudity", "and nothing underneath": "nudity", "nothing on underneath": "nudity",
    "not a scrap of fabric": "nudity", "not a scrap of clothing": "nudity", "not a stitch on": "nudity",
    "not a stitch of clothing": "nudity", "not a single thread on": "nudity", "not a thread on": "nudity",
    "bottoms aside": "nudity", "panties aside": "nudity", "thong aside": "nudity", "underwear aside": "nudity",
    "face buried between her thighs": "sex_act", "face between her thighs": "sex_act",
    "head between her thighs": "sex_act", "face between her legs": "sex_act", "head between her legs": "sex_act",
    "stroking himself": "sex_act", "hand wrapped around himself": "sex_act", "hand around himself": "sex_act",
    "grinding on a pillow": "sex_act", "humping a pillow": "sex_act", "riding a pillow": "sex_act",
    "legs scissored together": "sex_act", "glistening fluids": "sex_act", "fluids across her": "sex_act",
    # a body hurt, told by what is seen
    "eye hanging out": "gore", "eyeball hanging out": "gore", "eye out of its socket": "gore",
    "eye out of the socket": "gore", "eyeball out of its socket": "gore",
    "skin peeled of": "gore", "skin peeled from": "gore", "skin peeled away": "gore", "torcher chamber": "gore",
    "pulled apart by horses": "gore", "pulled apart by four horses": "gore", "joints tearing open": "gore",
    "sticking out of her back": "gore", "sticking out of his back": "gore", "sticking out of her chest": "gore",
    "sticking out of his chest": "gore", "sticking out of her neck": "gore", "sticking out of his neck": "gore",
    "knife in her back": "gore", "knife in his back": "gore",
    "foot still inside": "gore", "with the foot still in it": "gore", "skin bubbling": "gore",
    "skin blackening": "gore", "stumps spurting": "gore", "stump spurting": "gore", "spurting stumps": "gore",
    "colombian necktie": "gore", "nailed to a board": "cruelty_act", "set on fire": "cruelty_act act_strong",
    "lying still between": "aftermath", "students lying still": "aftermath", "people lying still": "aftermath",
    "columbine shooters": "atrocity_site", "columbine shooter": "atrocity_site", "sandy hook shooter": "atrocity_site",
    "parkland shooter": "atrocity_site", "uvalde shooter": "atrocity_site", "christchurch shooter": "atrocity_site",
    "buffalo shooter": "atrocity_site", "el paso shooter": "atrocity_site", "charleston shooter": "atrocity_site",
    "isla vista killer": "atrocity_site", "virginia tech shooter": "atrocity_site",
    # self-harm scenes, told by their props
    "horizontal red lines": "sh_mark", "neat red lines": "sh_mark", "parallel red lines": "sh_mark",
    "neat horizontal red lines": "sh_mark", "rows of red lines": "sh_mark",
    "pencil sharpener taken apart": "sh_tool", "blade from a pencil sharpener": "sh_tool",
    "final spot": "resolve", "my final spot": "resolve", "the brave choice": "resolve_weak",
    "brave choice": "resolve_weak",
    "done with everything": "resolve", "really done with everything": "resolve", "the only way out": "resolve",
    "quit life": "suicide", "quitting life": "suicide", "quit living": "suicide", "done with life": "suicide",
    "jutting hipbones": "ed_body", "jutting hip bones": "ed_body", "hip bones jutting": "ed_body",
    "rib cage showing": "ed_body", "ribcage showing": "ed_body",
    "protruding ribs": "ed_body", "ribs poking out": "ed_body",
    "single grape": "ed_caption", "one grape": "ed_caption", "discipline is beautiful": "ed_caption",
    "almost there": "ed_weak", "glowing with pride": "ed_weak", "not yet": "ed_weak",
    "towels under the door": "sealed_room", "towels pushed under the door": "sealed_room",
    "towel under the door": "sealed_room", "towels stuffed under the door": "sealed_room",
    "taped up windows": "sealed_room", "windows taped shut": "sealed_room", "sealed room": "sealed_room",
    "asleep forever": "death", "writing a goodbye": "farewell", "a goodbye for": "farewell",
    "goodnight world": "farewell", "goodbye world": "farewell",
    # hate told by its codes and its props
    "defective stock": "hate_phrase", "useless eaters": "hate_phrase", "life unworthy of life": "hate_phrase",
    "drooling vegetables": "dehumanise", "cow piss drinkers": "slur", "cow piss drinker": "slur",
    "piss drinkers": "slur", "white genocide": "hate_phrase",
    "tall trees had to be cut": "hate_phrase", "cut the tall trees": "hate_phrase",
    "cut down the tall trees": "hate_phrase", "rounded up into camps": "exterminate", "round them up": "exterminate",
    "rounded up and put in camps": "exterminate",
    "stealing babies": "trope", "steal babies": "trope", "stealing babys": "trope", "stealin babys": "trope",
    "stealing children": "trope", "steal children": "trope", "dark skinned": "group", "dark skinned man": "group",
})
PHRASES.update({  # speaking up against an atrocity is no call for one
    "stop the genocide": "prevention", "end the genocide": "prevention", "prevent genocide": "prevention",
    "protected from genocide": "prevention", "protect them from": "prevention", "protection from": "prevention",
    "against genocide": "prevention", "genocide prevention": "prevention", "stop the killing": "prevention",
})
add_senses(("jumping off the bridge", "jump off the bridge", "jumped off the bridge"), "summer swim swimming splash")
add_senses(("jumping off the bridge", "jump off the bridge", "jumped off the bridge"), "dive diving teens kids camp")
add_senses(("kick", "kicked", "kicks", "kicking"), "mat mats gymnast gymnastics trampoline")
add_senses(("kill", "killed", "killing", "kills"), "gamer gamers noob noobs gaming respawn lobby headset streamer")
add_senses(("stomp", "stomps", "stomping"), "platformer boss goomba mario pixel retro 8-bit 16-bit level")
# Round twelve (blind set R: stories, memes, headlines, questions, text tricks, negative-prompt
# tricks, code-switching, poems)
add_words({"group": "pride-parade", "sexualising": "moans moaning"})
PEOPLE_AFTER |= {"customer", "customers", "patron", "patrons", "regulars", "worker", "workers", "employees",
                 "tenants", "voters", "fans", "shoppers", "passengers", "residents"}
PHRASES.update({
    "nothing covers her body": "nudity", "nothing covering her body": "nudity", "nothing covers his body": "nudity",
    "nothing covering his body": "nudity", "age is just a number": "sexualising",
    "bare adult bodies": "nudity", "bare adult body": "nudity", "show the act in full": "sex_act",
    "holocaust hoax": "hate_phrase", "6 million lies": "hate_phrase", "six million lies": "hate_phrase",
    "into cattle cars": "exterminate", "brown hordes": "hate_phrase", "pride parade": "group", "pride march": "group",
    "thigh gap": "ed_caption", "empty plate": "ed_caption",
    "hip bones sharp": "ed_body", "sharp hip bones": "ed_body",
    "stones in her pockets": "drown_weight", "stones in her coat pockets": "drown_weight",
    "stones in his pockets": "drown_weight", "stones in his coat pockets": "drown_weight",
    "rocks in her pockets": "drown_weight", "rocks in his pockets": "drown_weight",
    "the most beautiful decision": "resolve", "beautiful decision": "resolve", "peaceful exit": "resolve",
    "count the pills": "excess pills", "spilled pills": "excess pills", "take one more": "excess",
    "against antisemitism": "prevention", "against racism": "prevention", "against hate": "prevention",
    "against islamophobia": "prevention", "against homophobia": "prevention", "stop hate": "prevention",
    "sex on the beach": "sex_act", "murder this set": "benign", "murder these weights": "benign",
    "murder the set": "benign",
})
add_senses(("slaughter", "slaughtered", "slaughtering"), "team fans match score football soccer league defeat")
add_senses(("slaughter", "slaughtered", "slaughtering"), "band album metal logo guitar tour")
add_senses(("sex on the beach",), "cocktail drink menu umbrella glass bartender vodka schnapps")
# Round thirteen (blind set S: shot lists and asset specs, very short and run-on prompts, second
# person, innuendo and hashtags, references to real events, long prompts with one harmful clause)
add_words({
    "group": "koreans japanese vietnamese filipinos afghans iranians albanians serbs croats bosnians ethiopians"
    " dalit dalits boomers",
    "slur": "troon troons mudmen mudman",
    "symbol": "sonnenrad",
    "exterminate": "cull culling",
    "dehumanise": "leeches leech monsters",
})
PEOPLE_AFTER |= {"characters", "character", "sprites", "faction", "couple", "couples"}
PHRASES.update({
    # double meanings
    "cock of the rock": "benign", "social intercourse": "benign", "spotted dick": "benign",
    "shot 1": "benign", "shot 2": "benign", "shot 3": "benign", "shot 4": "benign", "shot 5": "benign",
    "shot 6": "benign", "shot 7": "benign", "shot 8": "benign",
    # violence told in a clause
    "intestines out": "gore", "pull the intestines": "gore", "pull out his intestines": "gore",
    "tossed to the pigs": "gore", "fed to the pigs": "gore", "feed the pigs": "gore", "body in chunks": "gore",
    "in chunks": "gore_weak", "people burning": "gore", "bodies pile up": "aftermath", "bodies piling up": "aftermath",
    "twin towers": "atrocity_site", "still living": "alive_still", "still alive": "alive_still",
    "still-living": "alive_still", "sawing the face off": "gore",
    # hate told by its codes
    "fourteen words": "hate_phrase", "14 words": "hate_phrase", "mud people": "slur",
    "stop the groomers": "hate_phrase", "stopthegroomers": "hate_phrase", "puppet strings": "trope_weak",
    "puppet master": "trope", "pulling the strings": "trope",
    "ape like": "dehumanise_animal", "can never be trusted": "hate_claim", "can't be trusted": "hate_claim",
    "cannot be trusted": "hate_claim", "old people": "group", "the elderly": "group", "know your place": "demean",
    # self-harm told by its scene
    "haven't eaten": "ed_caption", "havent eaten": "ed_caption", "not eaten in": "ed_caption",
    "sealed garage": "sealed_room", "lit cigarette": "sh_mark",
    "long walk off a short pier": "suicide", "pockets with stones": "drown_weight",
    "pockets with rocks": "drown_weight",
    "golden gate bridge jump": "suicide", "golden gate jump": "suicide", "chose peace": "resolve",
    "he chose peace": "resolve", "she chose peace": "resolve", "finally at peace": "farewell",
    "i'm finally at peace": "farewell", "let go": "resolve_weak", "toes over the edge": "jump_intent",
    "lean forward and let go": "jump_intent", "last adventure": "resolve_weak",
})
_FAKE.extend(["anatomy", "anatomical"])
PHRASES.update({
    "close range": "distance", "point blank range": "distance", "split open to show": "benign",
    "cut open to show": "benign", "sliced open to show": "benign", "rainbow hearts": "benign",
    "memorial for the victims": "history", "memorial illustration for the victims": "history",
    "in memory of the victims": "history", "tribute to the victims": "history", "vigil for the victims": "history",
})  # a model of a heart split open for a class is no wound
add_senses(("hanging",), "chalk dust fog mist smoke lights plants")
add_senses(("noose",), "hangman game chalk chalkboard knot knots sailing sailor tutorial")
PHRASES.update({"chased out of": "expel_out", "chased out": "expel_out", "debunking the myth": "prevention",
                "debunk the myth": "prevention", "the myth that": "prevention"})
add_senses(("shooting", "shot"), "memorial vigil remembrance candle candles")
PHRASES.update({"limp wristed": "demean", "haven t eaten": "ed_caption",
                "hasn t eaten": "ed_caption", "hasnt eaten": "ed_caption", "strangling the globe": "trope",
                "strangling globe": "trope", "world domination": "trope", "counts gold coins": "trope"})
add_senses(("split open", "split", "sliced open", "cut open"), "anatomy model classroom diagram labels nursing")
add_senses(("split open", "split", "sliced open", "cut open"), "textbook")
add_senses(("severed",), "rubber latex prop props fake makeup")
add_senses(("dyke", "dykes"), "dutch sea water embankment flood dam canal windmills polder levee")
add_senses(("cut",), "cutman boxing boxer gym ring trainer")
# Round fourteen (blind set T: lists of ideas, registers (tickets, contracts, abstracts, listings,
# commentary), caps and slang, harm implied by what a character does, metaphors, fiction and dreams)
add_words({
    "slur": "hindoos",
    "hate_phrase": "judenfrei judenrein",
    "group": "indigenas",
    "pills": "naloxone",
})
PEOPLE_AFTER |= {"striker", "strikers", "shopkeeper", "student", "family", "families"}
PHRASES.update({
    # sex told by what the bodies do
    "lowers herself onto him": "sex_act", "where their bodies meet": "sex_act",
    "climbs onto him": "sexualising", "there s nothing underneath": "nudity", "nothing underneath her": "nudity",
    "hand between her thighs": "sex_act", "his fingers disappear": "sex_act", "only the heels on": "nudity",
    "nothing but heels": "nudity", "only her heels on": "nudity", "parts her knees": "pose",
    "presses in from behind": "sex_act", "what the towel was hiding": "nudity", "everything visible": "exposing",
    # violence implied
    "brain pulp": "gore", "heads like watermelons": "gore", "popping heads": "gore", "face shredded": "gore",
    "dragging a cop behind a car": "gore", "dragged behind a car": "gore", "face down in the trench": "atrocity",
    "lying face down in the trench": "atrocity", "mass grave": "atrocity",
    "strapped around his waist": "bomb_vest", "strapped to his chest": "bomb_vest", "explosive vest": "bomb_vest",
    "suicide vest": "bomb_vest", "render the aftermath": "aftermath_ask", "show the aftermath": "aftermath_ask",
    "an hour later": "aftermath_ask", "a minute later": "aftermath_ask", "the second right after": "aftermath_ask",
    "one second after": "aftermath_ask", "moments later": "aftermath_ask", "what s left under the wheels": "gore",
    "alternate history": "fiction",
    "zip tied": "captive", "tied to the chair": "captive", "tied to a chair": "captive", "kidnapper": "captive",
    "car battery": "torture_tool", "blowtorch": "torture_tool", "pliers": "torture_tool",
    # hate
    "go back to the jungle": "hate_phrase", "back to the jungle": "hate_phrase", "monkey gestures": "dehumanise_animal",
    "yellow star": "group_attire", "made to scrub": "demean",
    "conversion camp": "hate_phrase", "fix your kind": "hate_phrase", "we fix your kind": "hate_phrase",
    "la france aux francais": "hate_phrase", "stomping its feet": "benign", "stomping her feet": "benign",
    "stomping his feet": "benign", "stomps its feet": "benign", "wrists tied": "captive", "ankles tied": "captive",
    "hands tied": "captive", "wrists to the bumper": "captive", "ties the informant s wrists": "captive",
    # self-harm told by its scene
    "steps off the roof": "jump_intent", "step off the roof": "jump_intent", "stepping off the roof": "jump_intent",
    "choice to end it": "suicide", "end it all": "suicide", "place to leave from": "resolve",
    "beachy head": "cliff_site", "cheerio": "farewell_weak", "sod it": "resolve_weak",
    "see you on the other side": "farewell",
    "don t come looking": "farewell", "dont come looking": "farewell", "goodnight": "farewell_weak",
    "last level cleared": "resolve_weak", "from the bottle": "pills_weak",
    "tapes the edges of the garage door": "sealed_room", "garage door taped": "sealed_room",
    "pockets full of stones": "drown_weight", "pockets full of rocks": "drown_weight",
    "veins opened": "self_cut", "opened her veins": "self_cut", "opened his veins": "self_cut",
    "older marks": "sh_mark", "rows of older marks": "sh_mark", "sh scars": "suicide", "sh scar": "suicide",
    "0 cal": "ed_caption", "zero cal": "ed_caption", "0 calories": "ed_caption", "keep going": "ed_weak",
    "ribs like a xylophone": "ed_body", "skin and bones": "ed_body", "what discipline looks like": "ed_caption",
    "perfect thinness": "ed_caption", "death by starvation": "ed_act",
    # double meanings
    "my crush": "romance", "crush on": "romance", "her crush": "romance", "his crush": "romance",
    "shot them down": "benign", "i m dead": "benign", "im dead": "benign", "get your shot": "benign",
    "naloxone kit": "prevention", "overdose awareness": "prevention",
})
add_senses(("bloodbath",), "band logo metal festival font stage")
add_senses(("massacre", "slaughter", "murder", "execute", "carnage"), "scoreline dunk arena court defense fast break")
add_senses(("massacre", "carnage", "slaughter"), "5-0 goal goals league footy afl grand final field mcg rugby")
add_senses(("fag", "fags"), "pub cigarette cigarettes smoke smoking pint lighter ashtray packet bloke")
add_senses(("murder",), "meme lol funny glass")
add_senses(("shot", "shots"), "vaccine vaccines clinic jab")
add_senses(("bag over her head", "bag over his head", "bag over head"), "beekeeper hive bees veil mesh")
add_senses(("blade", "throat"), "barber shave shaving barbershop")
add_senses(("strip", "strips", "stripping", "strips down"), "swimsuit swimmer plunge lake pool wetsuit")
add_senses(("stomp", "stomping", "stomps"), "cloud tantrum picture-book cartoon")
# Round fifteen (blind set U: the plain prompts most users type, with many synonyms per category)
add_words({
    "symbol": "bundy dahmer gacy manson",
    "group": "irish nonbinary non-binary",
    "suicide": "seppuku harakiri hara-kiri",
    "cruelty_act": "clubbed clubbing",
    "slur": "r-word",
})
PHRASES.update({
    "butt and balls": "genitals", "thirst trap": "sexualising",
    "fan art": "endorse_weak", "misunderstood genius": "endorse", "bodies flying": "gore", "terror attack": "atrocity",
    "sawn open": "gore", "sawed open": "gore", "clubbed to death": "act_strong cruelty_act",
    "ban them all": "expel_out", "ban them": "expel_out", "herding people into showers": "hate_phrase",
    "into the showers": "hate_code_weak", "ss uniform": "symbol", "drooling idiots": "demean", "r word": "slur",
    "mentally ill freaks": "demean", "burn the churches": "hate_phrase",
    "burn the mosques": "hate_phrase", "burn the synagogues": "hate_phrase", "caste purity": "hate_phrase",
    "untouchability": "hate_phrase", "spitting on": "demean",
    "drowned ophelia": "suicide", "hose from the exhaust": "suicide", "hose running from the exhaust": "suicide",
    "head inside an open gas oven": "suicide", "head in the gas oven": "suicide",
    "shot himself": "suicide", "shot herself": "suicide",
    "shoots himself": "suicide", "shoots herself": "suicide", "shot himself in the foot": "benign",
    "hollow cheeks": "ed_body", "one grape a day": "ed_caption",
    "self strangulation": "suicide", "you don t deserve food": "ed_act", "kcal limit": "ed_caption",
    "calorie limit": "ed_caption", "peace at last": "farewell",
    "drowning in paperwork": "benign", "drowning in work": "benign", "slit lamp": "benign",
})
add_senses(("bruised", "bruise", "bruises"), "mma fighter boxer boxing ring win champion")
# Round sixteen (an own minors probe: children in sexual poses told plainly)
PHRASES.update({
    "bare bottom": "nudity", "bare butt": "nudity", "bare bum": "nudity", "bare buttocks": "nudity",
    "no towel": "undress", "without a towel": "undress", "first time": "first_time",
})
# Round sixteen (blind set V: plain prompts that avoid each category's obvious key word)
add_words({
    "sex_act": "lovemaking",
    "act_strong": "necklacing",
    "dehumanise": "barbarians degenerates",
    "endorse": "triumphant roaring heroic",
    "trope": "minstrel",
    "glamour": "artistic",
    "alive_still": "conscious",
    "group_attire": "hijab hijabs",
})
PHRASES.update({
    "erect member": "genitals", "member out": "genitals", "public lewdness": "sex_act",
    "intimate parts on display": "genitals", "presenting pose": "pose", "him inside her": "sex_act",
    "scissoring on": "sex_act", "saws through his throat": "gore", "through his throat": "gore",
    "gunning them down": "act_strong", "gunned them down": "act_strong", "cracked ribs": "wound",
    "oklahoma city bomber": "atrocity_site",
    "beneath the wheels": "gore", "bodies thrown": "gore", "rwandan genocide": "atrocity_site",
    "finish the job": "hate_code_weak", "into camps": "exterminate", "to the lions": "exterminate",
    "they deserved it": "gloat", "deserved it": "gloat", "fried chicken": "trope", "huge lips": "trope",
    "exaggerated huge lips": "trope", "no degenerates": "hate_phrase", "rainbow flag": "group_attire",
    "submissive exotic dolls": "demean", "sneaky ninjas": "demean", "detention camps": "atrocity_site",
    "re education": "hate_code_weak", "wrong side of a viaduct railing": "jump_intent",
    "wrong side of the railing": "jump_intent", "on the wrong side of the railing": "jump_intent",
    "ready to let go": "resolve", "empty prescription bottle": "pills",
    "prescription bottle": "pills_weak", "i m free now": "farewell", "im free now": "farewell",
    "reddened water": "red_water", "i deserve this": "self_punish", "under a man s chin": "chin",
    "under his chin": "chin", "under her chin": "chin", "ribcage jutting": "ed_body", "rib cage jutting": "ed_body",
    "sleeping tablets": "pills", "bye bye": "farewell", "one more step": "resolve", "go deeper": "sh_intent",
    "i ll go deeper": "sh_intent", "ending she chose": "resolve", "the ending he chose": "resolve",
    "coping tools": "sh_intent", "my coping tools": "sh_intent",
    "nothing tastes as good as skinny feels": "ed_caption", "about to leap": "jump_intent",
    "do it": "urge", "shower rod": "hang_place", "tusks off": "gore",
    "starve for perfection": "ed_caption", "sunken cheeks": "ed_body", "all bones": "ed_body",
    "jump from the tallest building": "suicide", "blue whale challenge": "suicide",
    "topless roadster": "benign", "topless car": "benign", "topless convertible": "benign",
})
add_senses(("xxx",), "jug moonshine whiskey bottle label barrel")
# Blind set W (300 ordinary prompts after rounds eleven to sixteen): idioms and trade words
PHRASES.update({
    "brain scan": "benign", "scan slices": "benign", "heads in hands": "benign", "head in hands": "benign",
    "could murder a burger": "benign", "could murder a pint": "benign", "could murder a pizza": "benign",
    "could murder a coffee": "benign", "murder a burger": "benign", "are killing me": "benign",
    "is killing me": "benign",
    "kill them with kindness": "benign", "killing them with kindness": "benign", "bruised plum": "benign",
    "no estas solo": "prevention",
})
add_senses(("slaughter", "slaughtered"), "wrestling wrestler poster title")
add_senses(("slay", "slayed", "slays", "slaying"), "comedian comedy stand-up laughter stage")
# fmt: on
