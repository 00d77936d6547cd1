"""Does a passage read like instructions to an AI, or ask the reader for a secret? A scored classifier of
weighted patterns, run on every passage when a document is split (`documents.split`).

Retrieved text is data. A help-center passage that addresses an assistant, tries to override its instructions,
asks for a card number, CVV, PIN or password, sends conversation data somewhere, or hides text from the customer
is flagged `suspicious`: it stays in the index (so it can be found and removed) but it is never quoted to a
customer, and a model never sees it.

`classify(text)` scores the text after normalising it (NFKC, casefolded, accents, zero-width and invisible
characters removed, look-alike letters and light leetspeak mapped, spaced-out letters joined), so that trivial
obfuscation does not evade it. Each pattern that matches adds its weight once; a passage is suspicious at
`THRESHOLD` or above, and always when it asks for a secret (`asks_for_secrets`), whatever the score.

Merchant text talks about the same things in good faith ("we will never ask for your password", "enter the
security code on the back of your card at checkout", "forget your password?", "ignore the tracking status for 24
hours"), and a flagged passage never answers anything, so a false positive silently loses an answer: a request
for a secret counts only when it is not negated, not something the shop or the bank does, and not how to use the
checkout, a card terminal or the app.

The figures on `evaluation/injection/passages.jsonl`: `python -m concierge.knowledge.injection
evaluation/injection/passages.jsonl` (docs/knowledge.md).
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

THRESHOLD = 1.0

# --- normalisation -------------------------------------------------------------------------------------------------
# Zero-width and direction-control characters: invisible, and able to split a word so that no pattern sees it.
INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# Unicode tag characters mirror ASCII invisibly ("ASCII smuggling"): read them as the letters they stand for.
TAGS = re.compile("[\U000e0000-\U000e007f]")
# Cyrillic and Greek letters that look like Latin ones.
LOOKALIKES = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "ӏ": "l",
        "α": "a",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
    }
)
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
# A word that mixes letters with the digits and signs leetspeak uses ("1gn0re", "p@ssw0rd"), not a number, a
# price or a model name alone.
LEET_WORD = re.compile(r"(?<![\w@$])(?=[\w@$]*[a-z])(?=[\w@$]*[0-9@$])[\w@$]+")
# Four or more single letters, each followed by one separator ("i g n o r e", "d.i.s.r.e.g.a.r.d"); two spaces
# end a word.
SPACED = re.compile(r"(?<![^\W_])(?:[^\W\d_][ .\-_*·|](?=[^\W\d_])){3,}[^\W\d_](?![^\W_])")
SPACED_SEPARATOR = re.compile(r"[ .\-_*·|]")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _tags(text: str) -> str:
    return TAGS.sub(lambda m: chr(ord(m.group()) - 0xE0000) if 0x20 <= ord(m.group()) - 0xE0000 < 0x7F else "", text)


def normalize(text: str, leet: bool = True) -> str:
    """The text as the patterns read it: NFKC, tag characters decoded, invisible characters removed, casefolded,
    accents and look-alike letters mapped to plain Latin letters, spaced-out letters joined, whitespace collapsed,
    and (with `leet`) digits and signs inside words read as the letters they imitate."""
    text = unicodedata.normalize("NFKC", _tags(text))
    text = INVISIBLE.sub("", text)
    text = _strip_accents(text.casefold()).translate(LOOKALIKES)
    text = SPACED.sub(lambda m: SPACED_SEPARATOR.sub("", m.group()), text)
    if leet:
        text = LEET_WORD.sub(lambda m: m.group().translate(LEET), text)
    return " ".join(text.split())


# --- the patterns ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pattern:
    name: str
    weight: float
    regex: re.Pattern[str]
    view: str = "words"  # "words": normalised and de-leeted; "plain": normalised only (URLs, emails); "raw"


def _p(name: str, weight: float, pattern: str, view: str = "words") -> Pattern:
    return Pattern(name, weight, re.compile(pattern), view)


AI = r"(?:ai|a\.i\.|assistants?|chat ?bots?|bots?|language models?|llms?|ai models?|gpt|claude|copilot|agents?)"
READER = rf"(?:{AI}|the reader|readers?|whoever (?:is )?read(?:s|ing) this|anyone reading this)"
RULES = (
    r"(?:instructions?|rules?|guidelines?|guidance|prompts?|directions?|directives?|context|"
    r"constraints?|restrictions?|safeguards?|guardrails?|programming|training|system messages?|orders you were given)"
)
EARLIER = r"(?:all|any|the|your|previous|prior|above|earlier|preceding|existing|original|other|old|current|these|those)"
CUSTOMER = r"(?:the |each |every |all |any )?(?:customers?|users?|shoppers?|buyers?|callers?|clients?|visitors?)"

PATTERNS: tuple[Pattern, ...] = (
    # text addressing an AI, or "the reader", with instructions
    _p(
        "addresses_ai",
        0.8,
        rf"\b(?:dear|attention|attn|note (?:to|for)|message (?:to|for)|hey|hello|hi) (?:the |any |all |"
        rf"our )?(?:ai |a\.i\. |virtual |automated )?(?:{AI}|readers?)\b\s*[,:!]",
    ),
    _p("addresses_ai", 0.8, rf"\bif you(?:'re| are) (?:an? )?(?:{AI}|automated|an ai\b)"),
    _p("addresses_ai", 0.8, rf"^(?:{AI}|reader)\s*[,:]"),
    _p(
        "addresses_ai",
        0.8,
        rf"\b(?:{AI}|models?|systems?|readers?) (?:reading|processing|parsing|summari[sz]ing|indexing|"
        rf"ingesting|that reads?|who reads?) (?:this|these)\b",
    ),
    _p(
        "ai_must",
        0.6,
        rf"\b{READER},? (?:\w+ ){{0,3}}(?:must|shall|are (?:required|instructed|expected) to|is (?:required|"
        rf"instructed|expected) to|should (?:now|always|never|ignore|disregard|tell|say|ask|approve|refund|"
        rf"collect|reply|respond))\b",
    ),
    _p(
        "ai_must",
        0.6,
        r"\b(?:automated|virtual) (?:systems?|readers?|assistants?|agents?)\b.{0,40}\b(?:must|should|shall|"
        r"apply|note)\b",
    ),
    _p("as_an_ai", 0.6, r"\bas an? (?:ai|language model|assistant)\b"),
    _p(
        "instructs_agent",
        0.6,
        rf"\b(?:tell|inform|instruct|advise|assure|convince|reply to|respond to|"
        rf"answer) {CUSTOMER}(?:'s)? (?:that|to)\b",
    ),
    _p("instructs_agent", 0.6, rf"\b(?:when|if) {CUSTOMER} asks?\b.{{0,60}}\b(?:say|tell|reply|respond|answer)\b"),
    _p(
        "instructs_agent",
        0.5,
        r"\b(?:approve|grant) (?:every|all|any) (?:refunds?|returns?|requests?|claims?|discounts?)\b",
    ),
    _p("instructs_agent", 0.5, r"\bwithout (?:checking|verifying|verification|approval)\b"),
    # override words
    _p(
        "override",
        1.0,
        rf"\b(?:ignore|disregard|forget|override|bypass|skip|set aside|drop|abandon|discard|"
        rf"neglect)\b(?: \w+){{0,4}}? {EARLIER}(?: \w+){{0,3}}? {RULES}\b",
    ),
    _p(
        "override",
        1.0,
        r"\b(?:ignore|disregard|forget)\b (?:everything|anything|all)\b(?: (?:you|that|i|we|else|above|before|"
        r"previously|earlier|said|were|was|have|been|told|given|\w+ed))*",
    ),
    _p(
        "override",
        1.0,
        rf"\b{RULES} (?:above|below|before) (?:no longer|do not|don't|does not|doesn't) (?:apply|matter|"
        rf"count)\b",
    ),
    _p(
        "override",
        1.0,
        rf"\b(?:take|takes|have|has) (?:precedence|priority) over (?:all |any |your |the )*(?:previous |prior |"
        rf"earlier |other |original )?{RULES}\b|\bsupersedes? (?:all |any |your |the )*(?:previous |prior |"
        rf"earlier |other |original )?{RULES}\b",
    ),
    _p(
        "override",
        1.0,
        r"\b(?:bypass|override|circumvent)\b (?:the |your |all |any )?(?:verification|safety|security checks?|"
        r"content (?:filters?|polic(?:y|ies))|filters?|checks?|guardrails?)\b",
    ),
    _p(
        "new_instructions",
        1.0,
        r"\b(?:new|updated|revised|real|actual|true) (?:instructions|rules|orders|directives|"
        r"system (?:message|prompt))\s*[:!-]|\byour (?:new|real|actual|true) (?:instructions|task|role|job|"
        r"rules|orders)\b|\byour only (?:task|job|goal)\b",
    ),
    _p("new_instructions", 0.5, r"\bnew instructions\b"),
    _p("from_now_on", 0.5, r"\bfrom now on\b|\bhenceforth\b|\bstarting now\b"),
    _p(
        "you_are_now",
        1.0,
        r"\byou(?:'re| are| re) (?:now|no longer)\b(?! (?:ready|able|signed|logged|subscribed|registered|"
        r"paired|connected|set|done|all set|in pairing)\b)",
    ),
    _p(
        "role_play",
        0.8,
        r"\b(?:pretend|imagine) (?:that )?(?:you|to be)\b|\brole ?-?play\b|\blet'?s play a game\b|"
        r"\bact as (?:if you|though you|an? (?:ai|assistant|unrestricted|different|new)|"
        r"the (?:store )?(?:owner|manager|admin))\b|\byou will (?:now )?act as\b",
    ),
    _p(
        "system_prompt",
        1.0,
        r"\bsystem (?:prompt|message|instructions?)\b|\bprompt di sistema\b|\bprompt (?:du )?systeme\b|"
        r"\bsystemprompt\b|\bhidden (?:instructions?|prompt)\b",
    ),
    _p(
        "developer_mode",
        1.0,
        r"\bdeveloper mode\b|\bdev mode\b|\bjailbr(?:eak|oken)\b|\bdan mode\b|\bdo anything now\b",
    ),
    _p(
        "reveal_prompt",
        1.0,
        r"\b(?:reveal|print|show|repeat|output|display|leak|dump|share) (?:me |us |out |back )?(?:(?:your|"
        r"its) (?:system |hidden |original |initial |secret |internal |full |entire |exact )?|the (?:system |"
        r"hidden |original |initial |secret |internal ))(?:prompt|instructions|configuration|rules)\b",
    ),
    _p("mass_action", 1.0, r"\b(?:refund|cancel|delete|void|approve)\s+(?:everything|every ?thing)\b"),
    _p(
        "mass_action",
        0.6,
        r"\b(?:refund|cancel|delete|void)\s+(?:all|every|each|any) (?:orders?|refunds?|requests?|accounts?|"
        r"customers?)\b",
    ),
    _p(
        "mass_action",
        0.6,
        r"\b(?:issue|give|send|grant)\b.{0,30}\b(?:refunds?|store credit|discount|"
        r"gift cards?)\b.{0,20}\bto (?:everyone|anyone|whoever|every ?one|any ?one|all customers)\b",
    ),
    _p(
        "mass_action",
        0.6,
        r"\b100 ?(?:%|percent|prozent|pour ?cent|por ?ciento) (?:off|discount|rabatt|de (?:remise|descuento)|"
        r"refund)\b|\brabatt von 100\b",
    ),
    # other languages' basic forms
    _p(
        "override_fr",
        1.0,
        r"\b(?:ignore[rsz]?|oublie[rsz]?|ne tenez pas compte|ne tiens pas compte)\b(?: \w+){0,3}? (?:les|des|"
        r"vos|tes|toutes|tous|aux|de) (?:\w+ ){0,2}(?:instructions?|consignes?|regles?|directives?)\b",
    ),
    _p(
        "override_de",
        1.0,
        r"\b(?:ignorier\w*|vergiss\w*|missacht\w*|uberschreib\w*)\b(?: \w+){0,4} (?:anweisung\w*|regeln|"
        r"vorgaben|richtlinien|instruktion\w*|befehl\w*)\b",
    ),
    _p(
        "override_es",
        1.0,
        r"\b(?:ignor[ae]\w*|olvid[ae]\w*|omit[ae]\w*|descart[ae]\w*)\b(?: \w+){0,4} (?:instrucciones|reglas|"
        r"indicaciones|directrices|normas)\b",
    ),
    _p("override_it", 1.0, r"\b(?:ignora\w*|dimentica\w*)\b(?: \w+){0,4} (?:istruzioni|regole|direttive)\b"),
    _p(
        "you_are_now",
        1.0,
        r"\b(?:tu es|vous etes) (?:maintenant|desormais)\b|\b(?:du bist|sie sind) (?:jetzt|ab sofort|nun)\b|"
        r"\bahora eres\b|\bora sei\b",
    ),
    _p(
        "new_instructions",
        1.0,
        r"\b(?:nouvelles instructions|neue anweisungen|nuevas instrucciones|nuove istruzioni)\b",
    ),
    # hidden text
    _p("html_comment", 0.6, r"<!--", view="raw"),
    _p("hidden_note", 0.6, r"\b(?:hidden|secret|invisible) (?:note|message|text|instructions?|section)\b"),
    _p(
        "hidden_characters",
        0.5,
        "[^\\W\\d_][\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]+[^\\W\\d_]",
        view="raw",
    ),
    _p("hidden_characters", 1.0, r"[\U000e0020-\U000e007e]{4,}", view="raw"),
    _p(
        "hide_from_customer",
        1.0,
        rf"\b(?:do not|don't|never|without) (?:tell(?:ing)?|mention(?:ing)?|reveal(?:ing)?|inform(?:ing)?|"
        rf"disclos(?:e|ing)|notify(?:ing)?|alert(?:ing)?) (?:this |it |that )?(?:to )?{CUSTOMER}\b(?!'|"
        rf" (?:information|data|details|records|addresses|emails?|names?|accounts?|orders?|reviews?|"
        rf"numbers?)\b)",
    ),
    _p(
        "hide_from_customer",
        1.0,
        rf"\b(?:keep|hide) (?:this|it|that)\b.{{0,20}}\b(?:hidden|secret|confidential|"
        rf"private)?\s*from {CUSTOMER}\b|\b{CUSTOMER} (?:must|should|may|need) (?:not|never) (?:know|see|"
        rf"be told|find out)\b",
    ),
    _p(
        "hide_from_customer",
        1.0,
        r"\b(?:invisible|hidden) (?:to|from) (?:the )?(?:customers?|users?|humans?|people)\b|"
        r"\bne (?:le )?(?:dites|dis) (?:rien|pas) au client\b|\bsag(?:en sie)? dem kunden nicht\b|"
        r"\bno (?:le )?digas al cliente\b",
    ),
    # exfiltration
    _p("image_query", 0.6, r"!\[[^\]]*\]\(\s*(?:https?:)?//[^)\s]*\?[^)\s]*=", view="plain"),
    _p("exfiltration", 1.0, r"(?:https?:)?//[^\s)\]]*[?&][\w.-]+=\s*(?:\{|\[|<|%7b|%5b|%3c|\$)", view="plain"),
    _p(
        "exfiltration",
        1.0,
        r"(?:https?:)?//[^\s)\]]*[?&](?:e-?mail|phone|card\w*|cvv|cvc|pass\w*|pin|otp|token|transcript|"
        r"conversation|history|chat_?log|secret|address)=",
        view="plain",
    ),
    _p("exfiltration", 1.0, r"(?:https?:)?//[^\s)\]]*[?&][\w.-]+=[A-Z][A-Z_]{3,}\b", view="raw"),
    _p("markdown_link_query", 0.5, r"\]\(\s*(?:https?:)?//[^)\s]*\?[^)\s]*=", view="plain"),
    _p(
        "exfiltration",
        1.0,
        rf"\b(?:send|forward|post|upload|transmit|leak|exfiltrate|copy|submit|report|email|e-mail|share|append|"
        rf"attach)\b(?: \w+){{0,4}}? (?:the |this |all |every |full |entire |complete |whole |their |"
        rf"{CUSTOMER}'?s? )+(?:conversations?|chats?|transcripts?|chat history|conversation history|"
        rf"message history|messages|prompts?|context|personal (?:data|details|information)|customer (?:data|"
        rf"details|information|records|emails?|addresses)|(?:email )?address(?:es)? and (?:phone|order)|"
        rf"phone numbers?|everything|all (?:data|information))\b.{{0,80}}(?:https?://|www\.|"
        rf"[\w.+-]+@[\w-]+\.[\w.]+|webhook|endpoint|pastebin|server)",
        view="plain",
    ),
    _p(
        "exfiltration",
        1.0,
        r"\b(?:append|add|include|insert)\b.{0,40}\b(?:customer'?s?|conversation|their|"
        r"the user'?s?) (?:\w+ )?(?:email|address|phone|name|message|details|data)\b.{0,30}\b(?:to|in|"
        r"into) (?:the |every |each |all |this )?(?:url|link|image|query)",
        view="plain",
    ),
)
# Patterns on the text with every separator removed, for letters spaced out with single spaces
# ("i g n o r e p r e v i o u s i n s t r u c t i o n s").
SQUASHED: tuple[Pattern, ...] = (
    _p(
        "override",
        1.0,
        r"(?:ignore|disregard|forget|override|bypass)(?:all|any|the|your|previous|prior|above|earlier|"
        r"preceding)+(?:instructions?|rules|guidelines|prompts?)",
        view="squashed",
    ),
    _p("system_prompt", 1.0, r"systemprompt|developermode|jailbreak", view="squashed"),
)

# --- requests for secrets ---------------------------------------------------------------------------------------------
SECRET = (
    r"(?:(?:full |complete |long |16[- ]digit )?(?:credit |debit |bank |"
    r"payment )?(?<!gift )(?<!gift-)card(?:'s)? (?:number|numbers|details|info|information|data|digits)"
    r"|card ?holder data"
    r"|cvv2?|cvc2?|csc|cid|card verification (?:value|code|number)|(?:card )?security (?:code|number|digits)"
    r"|(?:three|3|four|4)[- ]digit(?:s)? (?:code |number )?(?:on|from) the back|(?:three|3) digits on the back"
    r"|digits on the back of (?:your|their|the) card"
    r"|pins?(?: (?:code|number))?|passwords?|passcodes?|pass ?phrases?|one[- ]time (?:code|password|"
    r"passcode|pin)|otps?|"
    r"(?:verification|authenti(?:cation|cator)|2fa|two[- ]factor|sms|security|login) codes?"
    r"|(?:online |internet )?banking (?:login|username|password|credentials|details)|bank (?:login|"
    r"credentials|password)"
    r"|(?:login|account|sign[- ]in) (?:details|credentials|password)|credentials|social security number|ssn"
    r"|numero de (?:la )?carte|cryptogramme|code de securite|mot de passe|code pin|kartennummer|"
    r"prufnummer|sicherheitscode|"
    r"passwort|kennwort|geheimzahl|numero de (?:la )?tarjeta|codigo de seguridad|contrasena|clave)"
)
POSSESSIVE = (
    r"(?:(?:your|their|his|her|the|its|this|that|a|an|any|all|both|full|complete|whole|customers?'?s?|users?'?s?"
    r"|shoppers?'?s?|own|card|account|\w+'s|son|sa|ses|votre|vos|le|la|les|su|sus|tu|tus|el|ihre?|seine?|"
    r"die|den|der|das|dem) )*"
)
DISCLOSE = (
    r"(?:give|giving|provide|providing|share|sharing|send|sending|tell|telling|disclose|reveal|read out|reading out"
    r"|reply with|respond with|answer with|include|including|post|paste|submit|forward|write down|"
    r"spell out|hand over|supply"
    r"|email|e-mail|text|message|dm|list|repeat|type out|collect|obtain|gather|request|ask(?:ing)? (?:you |them )?for"
    r"|envoye[zr]?|donne[zr]?|communique[zr]?|indique[zr]?|fourni(?:r|ssez)|partage[zr]?|demande[zr]?(?: au client)?"
    r"|send(?:en)?|schick\w*|gib|geben|teil\w*|nenn\w*|mitteil\w*|angeben"
    r"|envi[ae]\w*|proporcion\w*|compart\w*|indiqu\w*|pid[ae]\w*|solicit\w*|dame|deme|denos)"
)
AMBIGUOUS = r"(?:enter|entering|type|typing|confirm|confirming|verify|verifying|input|key in|fill in|put|use|write|say)"
DESTINATION = re.compile(
    r"\b(?:in|into|via|by|through|over|on|to|as) (?:the |this |our |a |your |their )?(?:chat|conversation|chat window|"
    r"messages?|reply|replies|response|thread|e-?mail|dm|whatsapp|sms|text message|comments?|support ticket|ticket)\b"
    r"|\breply\b|\brespond\b|\bwrite back\b|\bhere\b|\bbelow\b"
    r"|\b(?:to|with|for) (?:us|me|the (?:assistant|agent|bot|reader)|support|our (?:team|agents?|staff|"
    r"assistant)|this assistant)\b"
    r"|[\w.+-]+@[\w-]+\.[\w.]+|https?://"
)
DESTINATION_NEGATED = re.compile(r"\b(?:never|not|rather than|instead of|no)(?: \w+)?\s*$")
# How to pay or sign in, not a request to disclose: the checkout, a card terminal, the bank's page, the app.
USE_CONTEXT = re.compile(
    r"\b(?:at (?:the )?checkout|checkout (?:page|form)|payment (?:page|form|field|screen)|"
    r"card (?:terminal|reader|machine)"
    r"|terminal|keypad|pin ?pad|(?:login|sign[- ]in|log[- ]in|reset) (?:page|screen|form|link)|"
    r"bank'?s (?:page|app|website)"
    r"|banking app|3-?d secure|(?:secure )?payment link|on (?:that|this|the) (?:secure )?(?:page|form)|"
    r"in the (?:app|field|form|box)|on (?:the|our) (?:website|site)|when you (?:pay|order|check out|"
    r"sign in|log in)"
    r"|on the (?:watch|screen|device|phone|display)|from the (?:watch|screen|device))\b"
)
NEGATION = re.compile(
    r"\b(?:never|not|no one|nobody|no|don't|dont|do not|doesn't|won't|will not|wouldn't|cannot|can't|shouldn't|mustn't"
    r"|under no circumstances|avoid|refuse|without|nor|ne|nie|niemals|nunca|jamais|kein\w*|nicht)\b"
)
NOT_NEGATION = re.compile(
    r"\b(?:never|not|don't|do not|no) (?:forget|fail|hesitate|neglect|worry|delay)\b|\bforget to\b|"
    r"\bno (?:need to worry|problem|worries)\b"
)
# The shop, the bank or the device does it ("we send a one-time code", "your bank may text you a code").
OTHERS_DO_IT = re.compile(
    r"\b(?:we|we'll|we will|we'd|we can|it|they|the app|the watch|the system|the bank|your bank|"
    r"our (?:team|system|app|store))"
    r"(?: (?:will|can|may|might|also|then|automatically|just|immediately|usually|only))* $"
)
DISCLOSURE = re.compile(
    rf"\b{DISCLOSE}\b(?: (?:us|me|it|them|the agent|the assistant|the bot|the reader|"
    rf"support))?(?: \w+){{0,2}}? {POSSESSIVE}{SECRET}\b"
)
# "ask the customer for their CVV", "collect each shopper's password", "demandez au client son mot de passe"
COLLECT = re.compile(
    rf"\b(?:ask|asking|request|requesting|collect|obtain|get|require|need|gather|prompt|pide|pidele|"
    rf"demandez|fragen? sie)\b"
    rf"(?: (?:al cliente|au client|den kunden)| {CUSTOMER}(?:'s|')?)(?: for| to(?: \w+){{0,2}})? {POSSESSIVE}{SECRET}\b"
)
ENTERING = re.compile(rf"\b{AMBIGUOUS}\b(?: (?:us|me|it|them))?(?: \w+){{0,2}}? {POSSESSIVE}{SECRET}\b")
NEEDED = re.compile(
    rf"\b{POSSESSIVE}{SECRET}\b(?: \w+){{0,6}}? (?:is|are) (?:required|needed|necessary|"
    rf"mandatory)\b.{{0,40}}\b(?:verify|verification|identity|confirm|refund|process|unlock|release|"
    rf"match)\b"
    rf"|\b(?:we|i) (?:need|require|must have|must see)\b(?: \w+){{0,2}}? {POSSESSIVE}{SECRET}\b"
    rf"|\bwhat(?: is|'s) (?:your|their|the customer'?s?) {SECRET}\b"
)
CLAUSE_BREAK = re.compile(r"[.!?;:\n]|,\s*(?:but|however|except|yet)\b|\b(?:but|however|instead)\b")


@dataclass(frozen=True)
class InjectionVerdict:
    """How much a passage reads like instructions to an AI. `reasons`: the names of the patterns that matched."""

    score: float
    reasons: tuple[str, ...]
    asks_for_secrets: bool

    @property
    def suspicious(self) -> bool:
        """Never quoted: at or above the threshold, or asking anyone for a secret whatever the score."""
        return self.score >= THRESHOLD or self.asks_for_secrets


def _clause_before(text: str, start: int) -> str:
    """The words of the clause before `start`, at most 8."""
    before = text[:start]
    cut = max((m.end() for m in CLAUSE_BREAK.finditer(before)), default=0)
    return " ".join(before[cut:].split()[-8:])


def _clause_after(text: str, end: int) -> str:
    after = text[end:]
    cut = CLAUSE_BREAK.search(after)
    return after[: cut.start()] if cut else after


def _sentence(text: str, start: int, end: int) -> str:
    before = text[:start]
    cut = max((m.end() for m in re.finditer(r"[.!?\n]\s", before)), default=0)
    stop = re.search(r"[.!?](?:\s|$)", text[end:])
    return text[cut : end + (stop.start() if stop else len(text) - end)]


def _to_us(sentence: str) -> bool:
    """Whether the sentence sends something to the chat, an email, the reader or us ("never in the chat" does
    not)."""
    return any(not DESTINATION_NEGATED.search(sentence[: m.start()]) for m in DESTINATION.finditer(sentence))


def _negated(text: str, start: int) -> bool:
    before = _clause_before(text, start)
    return bool(NEGATION.search(before)) and not NOT_NEGATION.search(before)


def _secret_requests(text: str) -> list[str]:
    """The names of the ways the text asks someone for a secret (empty when it does not)."""
    found: list[str] = []
    for name, regex, needs_destination in (
        ("asks_secret", DISCLOSURE, False),
        ("collects_secret", COLLECT, False),
        ("secret_in_chat", ENTERING, True),
        ("secret_required", NEEDED, False),
    ):
        for match in regex.finditer(text):
            if _negated(text, match.start()):
                continue
            if OTHERS_DO_IT.search(text[: match.start()].rstrip() + " "):
                continue
            sentence = _sentence(text, match.start(), match.end())
            to_us = _to_us(sentence)
            if needs_destination and not to_us:
                continue
            if not to_us and USE_CONTEXT.search(sentence):
                continue
            found.append(name)
            break
    return found


def classify(text: str) -> InjectionVerdict:
    """Score `text` (a passage) for instructions to an AI and requests for secrets."""
    views = {"raw": text, "plain": normalize(text, leet=False), "words": normalize(text)}
    views["squashed"] = re.sub(r"[^a-z]", "", views["words"])
    matched: dict[str, float] = {}
    for pattern in (*PATTERNS, *SQUASHED):
        if pattern.regex.search(views[pattern.view]):
            matched[pattern.name] = max(matched.get(pattern.name, 0.0), pattern.weight)
    secrets = sorted({*_secret_requests(views["words"]), *_secret_requests(views["plain"])})
    for name in secrets:
        matched[name] = 1.0
    reasons = tuple(sorted(matched))
    return InjectionVerdict(score=round(sum(matched.values()), 2), reasons=reasons, asks_for_secrets=bool(secrets))


def is_suspicious(text: str) -> bool:
    return classify(text).suspicious


# --- measuring it --------------------------------------------------------------------------------------------------
def evaluate(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per split ("tune", "heldout") and overall: adversarial recall and the benign false-positive rate, with the
    ids that were missed or wrongly flagged. `rows`: {"id", "text", "label": "injection"|"benign", "split"}."""
    figures: dict[str, dict[str, Any]] = {}
    for split in ("tune", "heldout", "all"):
        chosen = [r for r in rows if split == "all" or r["split"] == split]
        attacks = [r for r in chosen if r["label"] == "injection"]
        benign = [r for r in chosen if r["label"] == "benign"]
        missed = [r["id"] for r in attacks if not is_suspicious(r["text"])]
        flagged = [r["id"] for r in benign if is_suspicious(r["text"])]
        figures[split] = {
            "injection": len(attacks),
            "benign": len(benign),
            "recall": round(1 - len(missed) / len(attacks), 3) if attacks else None,
            "false_positive_rate": round(len(flagged) / len(benign), 3) if benign else None,
            "missed": missed,
            "false_positives": flagged,
        }
    return figures


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":  # python -m concierge.knowledge.injection evaluation/injection/passages.jsonl
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "evaluation/injection/passages.jsonl")
    sys.stdout.write(json.dumps(evaluate(load(source)), indent=2) + "\n")
