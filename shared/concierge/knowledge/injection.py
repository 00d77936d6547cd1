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

Round 2 fitted the patterns on both halves of `evaluation/injection/passages.jsonl`, by family rather than by
sentence: claims of authority ("[SYSTEM]", "Admin note:"), rules said to be void, orders to an agent without an
override word, personas, secrets asked for in any wording (a secret named, then "type it in your next message").
Figures per split for that file or any file in its format: `python -m concierge.knowledge.injection <file>`
(docs/knowledge.md).
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


# Who an instruction to an AI is addressed to. `AI_STRICT` leaves out plain "agents", who may be the shop's staff.
AI_STRICT = (
    r"(?:ai|a\.i\.|assistants?|chat ?bots?|bots?|language models?|llms?|ai (?:models?|agents?|systems?|tools?)|"
    r"virtual agents?|chat ?gpt|gpt(?:-?\d\w*)?|claude|gemini|bard|copilot)"
)
AI = rf"(?:{AI_STRICT}|agents?)"
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
        rf"\b(?:dear|attention|attn|(?:note|notice|message|memo|reminder|tip|tips|instructions?|important|"
        rf"guidance) (?:to|for)|to|for|hey|hello|hi|psst|yo|ok|okay|calling) (?:the |any |all |our |every |"
        rf"you )?(?:ai |a\.i\. |virtual |automated |support |customer service )?(?:{AI}|models?|readers?)\b"
        rf"(?: (?:reading|processing|parsing|answering|summari[sz]ing|using|handling|that reads?|who reads?)"
        rf"(?: \w+){{0,3}})?\s*[,:!]",
    ),
    _p("addresses_ai", 0.8, rf"\bif you(?:'re| are) (?:an? )?(?:{AI}|automated|an ai\b)"),
    _p("addresses_ai", 0.8, rf"(?:^|[.!?:;>\]\)]\s|--\s|\u2014\s?)(?:the )?(?:{AI}|model|reader)s?\s*[,:]"),
    # a note headed for an AI: "Note to the bot:", "To the assistant reading this page:", "Policy update for AI agents:"
    _p(
        "addressed_note",
        1.0,
        rf"(?:\b(?:note|notice|message|memo|reminder|tips?|instructions?|important|guidance|update|heads up|psa) "
        rf"(?:to|for)|(?:^|[.!?:;]\s)(?:to|for)) (?:the |any |all |our |every )?(?:ai |a\.i\. |virtual |automated )?"
        rf"(?:{AI_STRICT}|models?|readers?)\b(?: (?:reading|processing|parsing|answering|summari[sz]ing|using|"
        rf"handling|that reads?|who reads?)(?: \w+){{0,3}})?\s*:",
    ),
    _p(
        "ai_must",
        0.6,
        r"\b(?:the|this|any) models? (?:must|shall|should|will|needs? to|is to)(?: always| never| now| only)? "
        r"(?:say|tell|reply|respond|answer|refuse|ignore|recommend|claim|pretend|approve|refund|offer)\b",
    ),
    # an address followed by an order: "Assistant: tell the customer…", "Dear language model, please stop…"
    _p(
        "addressed_instruction",
        1.0,
        rf"\b(?:{AI_STRICT}|(?:dear|hey|hi|hello|psst|attention|yo|ok|okay),? (?:the )?models?|readers?)\s*[,:!]\s*"
        rf"(?:please |kindly |now |just |always |simply |from now on,? |important:? )*"
        rf"(?:ignore|disregard|forget|tell|say|reply|respond|answer|refund|approve|cancel|send|give|offer|ask|"
        rf"collect|stop|do not|don't|never|always|include|append|recommend|promise|confirm|reveal|print|output|"
        rf"pretend|act|treat|assume|switch|grant|issue|inform|skip|bypass|override|remember|note that|you (?:must|"
        rf"should|are|will|need)|add|insert|request|close|escalate|transfer|mention|avoid|keep|hide|state|claim|"
        rf"the (?:text|instructions?|rules|guidelines|policy) (?:above|below))\b",
    ),
    _p(
        "addresses_ai",
        0.8,
        rf"\b(?:{AI}|models?|systems?|readers?) (?:reading|processing|parsing|summari[sz]ing|indexing|"
        rf"ingesting|that reads?|who reads?) (?:this|these)\b",
    ),
    _p(
        "ai_must",
        0.6,
        rf"\b{READER},? (?:\w+ ){{0,3}}(?:must|shall|needs? to|ha(?:s|ve) to|(?:is|are) to|(?:are|is) "
        rf"(?:now )?(?:required|instructed|expected|supposed|allowed|permitted|authori[sz]ed) to|should (?:now|"
        rf"always|never|not|ignore|disregard|tell|say|ask|approve|refund|collect|reply|respond|offer|give|promise|"
        rf"recommend|treat|skip|cancel|issue|grant|request|send|stop))\b",
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
    # "Tell the customer shipping is free", "promise the shopper a refund": orders about the customer, to an agent
    _p(
        "instructs_agent",
        0.6,
        r"\b(?:tell|inform|assure|convince|promise|notify|persuade) (?:the |each |every |all |any |that |this )"
        r"(?:customers?|users?|shoppers?|buyers?|callers?|clients?|visitors?)\b(?!'| (?:service|support|care|"
        r"team|desk|portal|account|area|cent(?:re|er)|experience|reviews?|number)\b)",
    ),
    _p(
        "instructs_agent",
        0.6,
        r"\b(?:when|if|whenever) (?:a |an |the |any )?(?:customers?|users?|shoppers?|buyers?|callers?|clients?|"
        r"visitors?|they) (?:asks?|mentions?|says?|writes?|contacts? you|requests?|complains?|inquires?|enquires?|"
        r"brings? up)\b.{0,60}\b(?:say|tell|reply|respond|answer|promise|claim|insist|close the chat)\b",
    ),
    _p(
        "instructs_agent",
        0.5,
        r"\b(?:approve|grant|authori[sz]e) (?:every|all|any|each)(?: \w+){0,2}? (?:refunds?|returns?|requests?|"
        r"claims?|discounts?|cancell?ations?|exchanges?)\b",
    ),
    _p(
        "instructs_agent",
        0.5,
        r"\b(?:without|with no|no)(?: any)? (?:checking|verifying|verification|approval|(?:order |identity |id )"
        r"(?:checks?|lookups?|verification)|checks?)\b",
    ),
    _p("ignores_policy", 0.5, r"\bregardless of (?:the |any |our )?(?:polic(?:y|ies)|return window|rules|eligibility)"),
    # override words
    _p(
        "override",
        1.0,
        rf"\b(?:ignore|disregard|forget|override|bypass|skip|set aside|drop|abandon|discard|"
        rf"neglect)\b(?: \w+){{0,4}}? {EARLIER}(?: \w+){{0,3}}? {RULES}\b(?! (?:in|on|inside|from|printed|"
        rf"that came|included|leaflet|booklet|sheet|manual)\b)",
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
        r"\b(?:real|actual|true) (?:instructions|rules|orders|directives|"
        r"system (?:message|prompt))\s*[:!-]|\byour (?:new|real|actual|true|updated|revised) (?:instructions|task|role|"
        r"job|rules|orders|guidelines|directives|directions|purpose|goal|objective|mission|priority)\b|"
        r"\byour only (?:task|job|goal)\b",
    ),
    _p("new_instructions", 0.5, r"\bnew instructions\b"),
    _p(
        "new_instructions",
        0.8,
        r"\b(?:new|updated|revised) (?:instructions|rules|orders|directives|system (?:message|prompt))\s*[:!-]",
    ),
    _p("from_now_on", 0.5, r"\bfrom now on\b|\bhenceforth\b|\bstarting now\b|\bfrom this (?:point|moment) on"),
    _p(
        "you_are_now",
        0.4,
        r"\byou(?:'re| are| re) (?:now|no longer)\b(?! (?:ready|able|signed|logged|subscribed|registered|"
        r"paired|connected|set|done|all set|in pairing)\b)",
    ),
    # "You are now RefundBot", "you are no longer an assistant", "you are no longer bound by…"; not "you are now
    # eligible for free shipping"
    _p(
        "you_are_now",
        1.0,
        rf"\byou(?:'re| are| re) (?:now|no longer) (?:an? |the |my |our )?(?:\w+ )?(?:{AI_STRICT}|\w*bots?|models?|"
        rf"personas?|characters?|dan)\b|\byou(?:'re| are| re) (?:now )?(?:no longer|not) (?:bound|restricted|"
        rf"limited|constrained|governed|obliged|required to follow|subject)\b|\byou(?:'re| are| re) now "
        rf"(?:free|allowed|permitted|authori[sz]ed|unrestricted|unfiltered|uncensored|operating|acting|playing)\b",
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
        r"\b(?:ignorier\w*|vergiss\w*|vergessen|missacht\w*|uberschreib\w*)\b(?: \w+){0,4} (?:anweisung\w*|regeln|"
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
        rf"disclos(?:e|ing)|notify(?:ing)?|alert(?:ing)?) (?:this |it |that |these |any of this |(?:this|that|"
        rf"these|the) (?:policy|rule|note|change|instructions?|code|code word|offer|exception|shortcut|section|"
        rf"message|text|discount) )?(?:to )?(?:other )?{CUSTOMER}\b(?!'|"
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
    # claims of authority: "[SYSTEM]", "<system>", "SYSTEM OVERRIDE", "Admin note:", "[Assistant instruction]"
    _p(
        "authority",
        1.0,
        r"\[/?(?:system|sys|assistant|ai|bot|llm|model|inst|instructions?|prompt|override)(?: \w+){0,3}\](?!\()|"
        r"<\/?(?:system|assistant|admin|instructions?|sys|inst|prompt)>|<\|(?:im_start|im_end|system|endoftext)\|>|<<sys>>",
    ),
    _p(
        "authority", 1.0, r"\b(?:system|admin|administrator|developer|operator|root) (?:override|directive|command)s?\b"
    ),
    _p("authority", 0.8, r"\[/?(?:admin|administrator|developer|dev|operator|staff|internal)(?: \w+){0,3}\](?!\()"),
    _p(
        "authority",
        1.0,
        r"(?:^|[^\w\s]\s*|\s)SYSTEM\s*[:\]]|\bSYSTEM (?:NOTICE|NOTE|MESSAGE|UPDATE|ALERT)\b",
        view="raw",
    ),
    _p(
        "authority",
        0.8,
        r"\b(?:admin|administrator|developer|operator|moderator|system|internal|priority) (?:note|notice|message|"
        r"instructions?|update|alert|directive)s? (?:for|to) (?:the |all |any )?(?:ai|assistants?|bots?|agents?|"
        r"models?|llms?)\b|\b(?:admin|administrator|developer|operator|moderator) (?:note|notice|message|"
        r"instructions?|update|alert)s?\s*[:!\u2014\u2013-]|"
        r"\bsystem (?:note|notice|alert|directive)\s*[:!\u2014\u2013-]",
    ),
    _p(
        "authority",
        1.0,
        r"\bthis is (?:a |an )?(?:message|instruction|directive|note|update|order) from (?:the |your )?(?:developers?|"
        r"administrators?|admins?|system|openai|anthropic|operators?|creators?|engineering team)\b",
    ),
    _p(
        "authority",
        0.5,
        rf"\b(?:{AI_STRICT}|model) (?:has been|have been|was|is being) (?:updated|reconfigured|reprogrammed|"
        rf"upgraded|patched|re-?trained|unlocked)\b",
    ),
    # the rules said to be void, outranked or not binding
    _p(
        "rules_void",
        0.6,
        rf"\b{EARLIER}? ?{RULES} (?:above |below |before )?(?:are|is|were|was) (?:now )?(?:void|null|obsolete|"
        rf"outdated|revoked|cancell?ed|invalid|superseded|suspended|deprecated|lifted|wrong|fake|"
        rf"no longer (?:valid|in effect|in force|active|applicable))\b",
    ),
    _p(
        "rules_void",
        1.0,
        rf"\b(?:previous|prior|earlier|old|original|above|preceding|your|(?:the )?{RULES} (?:above|before(?: this)?))"
        rf"(?: {RULES})? (?:are|is|were|was) (?:now |hereby )?(?:void|null|revoked|cancell?ed|fake|invalid|"
        rf"no longer (?:valid|in effect|in force|apply))\b",
    ),
    _p(
        "rules_void",
        0.6,
        r"\b(?:everything|the text|the content|the information|all (?:the )?text|anything|the (?:faq|article|"
        r"page|policy|instructions|rules)) (?:above|before this|earlier|on this page)(?: this line)?(?: \w+){0,2}? "
        r"(?:is|are|was|were) (?:now )?(?:outdated|obsolete|void|wrong|incorrect|invalid|fake|a test|not (?:valid|"
        r"true|real))\b",
    ),
    _p(
        "rules_void",
        1.0,
        rf"\b(?:{AI_STRICT}|readers?) (?:are|is) (?:now )?(?:no longer|not) (?:bound|restricted|limited|"
        rf"constrained|governed|obliged to follow|required to follow|subject) (?:by|to)\b",
    ),
    _p("rules_void", 0.6, r"\bagents? (?:are|is) (?:now )?no longer (?:bound|required to follow) by\b"),
    _p(
        "rules_void",
        0.6,
        r"\b(?:these|this|the following|my|our) (?:instructions?|directives?|rules|note|message|text) "
        r"(?:override|overrides|supersedes?|replaces?|takes? (?:precedence|priority)|trumps?|outranks?)\b",
    ),
    _p(
        "rules_void",
        0.5,
        r"\b(?:override|overrides|supersedes?|takes? (?:precedence|priority) over|trumps?|outranks?) "
        r"(?:everything|anything)\b",
    ),
    _p(
        "rules_void",
        0.4,
        r"\b(?:in|over|of|from) your (?:configuration|programming|training|setup|system (?:configuration|settings|"
        r"prompt))\b",
    ),
    _p(
        "override",
        0.8,
        rf"\b(?:stop|quit|cease|no longer) (?:following|obeying|applying|respecting|adhering to|honou?ring)"
        rf"(?: [\w']+){{0,3}}? {RULES}\b|\b(?:ignore|disregard|forget|override|bypass|do not follow|don't follow|"
        rf"never follow|stop following)(?: \w+){{0,2}}? (?:the )?(?:merchant|store|shop|company|retailer|brand|"
        rf"seller|website|site)'?s? (?:\w+ )?(?:faq|polic(?:y|ies)|rules|guidelines|instructions|knowledge base|"
        rf"documentation|articles?|help cent(?:er|re)|terms)\b|\b(?:ignore|disregard|forget|override)\b "
        rf"(?:the|this|our|all|any) (?:faqs?|knowledge base|help cent(?:er|re)|documentation)\b",
    ),
    _p(
        "override",
        1.0,
        rf"\b(?:stop|quit|cease|no longer) (?:following|obeying|applying|respecting|adhering to|honou?ring) "
        rf"(?:your|all|any|previous|prior|earlier|(?:the )?(?:merchant|store|shop|company)'?s?)(?: \w+)? {RULES}\b",
    ),
    _p("this_conversation", 0.4, r"\bfor (?:the rest of )?this (?:conversation|chat|session)\b"),
    # a persona with no rules
    _p(
        "role_play",
        0.8,
        r"\b(?:respond|answer|reply|act|behave|speak|talk|pose|roleplay|role-play) as (?:if you were |though you "
        r"were )?(?:the|a|an) (?:store |shop )?(?:owner|manager|admin|administrator|supervisor|ceo|founder|"
        r"developer|unrestricted|uncensored|different|human|real person|employee|member of staff)\b|"
        r"\byou are (?:now )?['\"\u2018\u201c]?\w*bot\b",
    ),
    _p(
        "unrestricted",
        0.8,
        rf"\b(?:{AI}|mode|version|persona)\b(?: \w+){{0,2}} (?:with no|without(?: any)?) (?:limits|limitations|"
        rf"restrictions|rules|filters|guardrails|content polic(?:y|ies))\b",
    ),
    _p("unrestricted", 1.0, rf"\b(?:unrestricted|unfiltered|uncensored) (?:mode|version|{AI}|model|persona)\b"),
    # what an assistant is told to do
    _p(
        "steers_answer",
        0.6,
        r"(?:^|[.!?:;]\s)(?:always |just |simply |only )?(?:say|claim|state|insist|pretend) (?:that|it|they)\b|"
        r"(?:^|[.!?:;]\s)(?:always |only )?(?:respond|reply|answer|speak|talk) only (?:in|with)\b|"
        r"\b(?:always|just) (?:say|answer|reply|respond)(?: with)? (?:yes|ok|approved)\b|\b(?:always|only|just|and|"
        r"then) say that\b|\b(?:respond|reply|answer) that (?:the|their|it|all|every|our|your|there|they)\b|"
        r"\bpromise (?:them|him|her|the customer|customers|the shopper) (?:a |an |the |that )?(?:full|free|double|"
        r"refund|discount)",
    ),
    _p(
        "steers_answer",
        0.6,
        r"\b(?:never|don't|do not) (?:hand ?(?:off|over)|escalate|transfer|pass (?:them |the customer |it )?on|"
        r"connect (?:them|the customer)) (?:to )?(?:a |an |the )?(?:human|person|agent|member of staff|manager|"
        r"support)\b",
    ),
    _p(
        "steers_answer",
        0.6,
        r"\b(?:mak(?:e|ing) up|invent(?:ing)?|fabricat(?:e|ing)|guess(?:ing)?) (?:a |an |the |any )?(?:prices?|"
        r"answers?|facts?|information|tracking numbers?|order numbers?|delivery dates?|dates?|details|policies)\b|"
        r"\b(?:answer|respond|reply) (?:only )?(?:from|using) your own knowledge\b",
    ),
    _p(
        "steers_answer",
        0.6,
        r"\b(?:recommend|suggest|direct|send|redirect|refer|point)(?: \w+){0,2}? (?:to )?(?:a |the |our )?"
        r"competitors?'?s?\b",
    ),
    _p(
        "mass_action",
        0.6,
        r"\b(?:refunds?|store credit|credit|discount|gift cards?|compensation|vouchers?|coupons?|replacements?|"
        r"free \w+)\b.{0,20}\b(?:to|for) (?:everyone|anyone|whoever|every ?one|any ?one|everybody|anybody|"
        r"all customers|any customer|every customer)\b",
    ),
    _p("mass_action", 0.4, r"\b(?:authori[sz]e|grant|approve) (?:a )?(?:[5-9]\d|100) ?(?:%|percent)"),
    _p(
        "money_to_anyone",
        1.0,
        r"\b(?:refunds?|store credit|gift cards?|compensation|money back|cash|discount codes?)\b.{0,25}\b(?:to|for) "
        r"(?:anyone|whoever|everyone|anybody|everybody|any customer|every customer|all customers)(?: who| that)? "
        r"(?:asks?|requests?|complains?|mentions?|says?|claims?|wants?|writes?|contacts?)\b",
    ),
    # hidden text: CSS that hides it, Markdown comments, HTML images with a query
    _p(
        "hidden_style",
        0.6,
        r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em|rem)?\s*[;\"']|opacity\s*:\s*0"
        r"(?:\.0+)?\s*[;\"']|color\s*:\s*(?:#fff(?:fff)?|white|transparent)\b|<\w+[^>]*\shidden\b|"
        r"^\s*\[(?://|comment)\]\s*:\s*#|\s\[//\]\s*:\s*#",
        view="plain",
    ),
    _p("image_query", 0.6, r"<img[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]*\?", view="plain"),
    # more languages
    _p(
        "override_nl_pt",
        1.0,
        r"\b(?:negeer|vergeet)\b(?: \w+){0,3} (?:instructies|regels|richtlijnen)\b|\b(?:ignore|esqueca|"
        r"desconsidere)\b(?: \w+){0,3} (?:instrucoes|regras|diretrizes)\b",
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
# Words before "PIN", "password" or "code" that make it something else: a device's, a locker's, a gift card's.
NOT_A_SECRET = re.compile(
    r"\b(?:wi-?fi|network|router|hotspot|guest|new|strong|temporary|delivery|gift(?: card)?|door|locker|parcel|"
    r"luggage|lock|screen|sim|voicemail|bluetooth|pairing|parental|device|alarm|safe|booking|promo|discount|coupon|"
    r"watch|tablet|setup|activation|licen[cs]e|confirmation|reference|tracking) (?:pins?(?: (?:code|number))?|"
    r"passwords?|passcodes?|pass ?phrases?|[\w-]+ codes?|codes?)$"
)
# Card details: asked for at a checkout in good faith, so they count when sent to the chat, a reply or "us".
CARD_DETAILS = (
    r"(?:full |complete |long |16[- ]digit )?(?:credit |debit |bank |"
    r"payment )?(?<!gift )(?<!gift-)card(?:'s)? (?:number|numbers|details|info|information|data|digits)"
    r"|card ?holder data|card(?:'s)? (?:expiry|expiration)(?: date)?|(?:expiry|expiration) date (?:of|on|from) "
    r"(?:your|their|the) card"
)
# Secrets no one asks for in good faith: a card's security code or PIN, passwords, one-time codes, bank logins.
SECRETS_PROPER = (
    r"(?:cvv2?|cvc2?|csc|cid|card verification (?:value|code|number)|(?:card )?security (?:code|number|digits)"
    r"|(?:three|3|four|4)[- ]digit(?:s)? (?:code |number )?(?:printed )?(?:on|from) the back"
    r"|(?:three|3|four|4) (?:digits|numbers|figures)(?: printed)? (?:on|from) the back"
    r"|(?:digits|numbers) on the back of (?:your|their|the) card|(?:16|sixteen)[- ]digit (?:card )?number"
    r"|(?:long )?numbers? on the front of (?:your|their|the) card"
    r"|pins?(?: (?:code|number))?|passwords?|passcodes?|pass ?phrases?|one[- ]time (?:\w+ )?(?:code|password|"
    r"passcode|pin)s?|otps?"
    r"|(?:verification|authenti(?:cation|cator)|2fa|mfa|two[- ]factor|sms|security|login|sign[- ]in|access|"
    r"reset|(?:6|six)[- ]digit) codes?"
    r"|(?:online |internet )?banking (?:login|username|password|credentials|details)|bank (?:login|"
    r"credentials|password)"
    r"|(?:login|account|sign[- ]in) (?:details|credentials|password)|credentials|social security number|ssn"
    r"|national insurance number|security (?:question )?answers?|answers? to (?:your |their |the )?security "
    r"questions?|memorable (?:word|information)|mother'?s maiden name|(?:seed|recovery|secret) phrase"
    r"|numero de (?:la )?carte|cryptogramme|code de securite|mot de passe|code pin|kartennummer|"
    r"prufnummer|sicherheitscode|"
    r"passwort|kennwort|geheimzahl|numero de (?:la )?tarjeta|codigo de seguridad|contrasena|clave)"
)
SECRET = rf"(?:{CARD_DETAILS}|{SECRETS_PROPER})"
SECRET_PROPER = re.compile(rf"\b{SECRETS_PROPER}\b")
# A cheap first look: text with none of these words names no secret.
SECRET_WORDS = re.compile(
    r"card|cvv|cvc|csc|\bcid\b|secur|digit|\bpins?\b|pass|code|otp|bank|login|sign|credential|ssn|social|"
    r"insurance|answer|memorable|maiden|phrase|numero|crypto|karten|prufnummer|wort|geheim|tarjeta|contrasena|"
    r"clave|number"
)
POSSESSIVE = (
    r"(?:(?:your|their|his|her|the|its|this|that|a|an|any|all|both|full|complete|whole|customers?'?s?|users?'?s?"
    r"|shoppers?'?s?|own|card|account|\w+'s|son|sa|ses|votre|vos|le|la|les|su|sus|tu|tus|el|ihre?|seine?|"
    r"die|den|der|das|dem) )*"
)
DISCLOSE = (
    r"(?:give|giving|provide|providing|share|sharing|send|sending|tell|telling|disclose|reveal|read out|reading out"
    r"|reply with|respond with|answer with|include|including|post|paste|submit|forward|"
    r"spell out|hand over|supply"
    r"|email|e-mail|text|message|dm|list|repeat|type out|collect|obtain|gather|request|ask(?:ing)? (?:you |them )?for"
    r"|envoye[zr]?|donne[zr]?|communique[zr]?|indique[zr]?|fourni(?:r|ssez)|partage[zr]?|demande[zr]?(?: au client)?"
    r"|send(?:en)?|schick\w*|gib|geben|teil\w*|nenn\w*|mitteil\w*|angeben"
    r"|envi[ae]\w*|proporcion\w*|compart\w*|indiqu\w*|pid[ae]\w*|solicit\w*|dame|deme|denos)"
)
AMBIGUOUS = (
    r"(?:enter|entering|type|typing|confirm|confirming|verify|verifying|input|key in|fill in|put|use|write|say|read|"
    r"reading|spell|recite|dictate|drop|leave)"
)
DESTINATION = re.compile(
    r"\b(?:in|into|via|by|through|over|on|to|as) (?:the |this |our |a |your |their )?(?:next |following |first )?"
    r"(?:chat|conversation|chat window|messages?|reply|replies|response|answer|thread|e-?mail|dm|whatsapp|sms|"
    r"text message|comments?|support ticket|ticket)\b"
    r"|\brepl(?:y|ying)\b|\brespond(?:ing)?\b|\bwrit(?:e|ing) back\b|\bhere\b|\bbelow\b"
    r"|\b(?:to|with|for) (?:us|me|the (?:assistant|agent|bot|reader|chat)|support|our (?:team|agents?|staff|"
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
    r"|banking app|3-?d secure|(?:secure )?payment link|on (?:that|this|the|a) (?:secure )?(?:page|form)|"
    r"in the (?:app|field|form|box)|on (?:the|our) (?:website|site)|when you (?:pay|order|check out|"
    r"sign in|log in)"
    r"|on the (?:watch|screen|device|phone|display)|from the (?:watch|screen|device))\b"
)
NEGATION = re.compile(
    r"\b(?:never|not|no one|nobody|no|don't|dont|do not|doesn't|won't|will not|wouldn't|cannot|can't|shouldn't|mustn't"
    r"|under no circumstances|avoid|refuse|without|nor|ne|nie|niemals|nunca|jamais|kein\w*|nicht)\b"
    r"|\b(?:anyone|someone|somebody|a (?:caller|stranger|scammer|fraudster)|scammers?|fraudsters?|criminals?)"
    r"(?: \w+){0,3}? (?:asks?|requests?|tells?|wants?|pressures?|claims?|calls?|texts?|emails?|messages?)\b"
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
    rf"(?: (?:al cliente|au client|den kunden)| {CUSTOMER}(?:'s|')?)(?: for| to (?:\w+ )?(?:{DISCLOSE}|{AMBIGUOUS}))?"
    rf" {POSSESSIVE}{SECRET}\b"
    rf"|\b(?:have|make|let|get) (?:them|{CUSTOMER}) (?:to )?(?:{DISCLOSE}|{AMBIGUOUS})\b(?: \w+){{0,2}}? "
    rf"{POSSESSIVE}{SECRET}\b"
)
ENTERING = re.compile(rf"\b{AMBIGUOUS}\b(?: (?:us|me|it|them))?(?: \w+){{0,2}}? {POSSESSIVE}{SECRET}\b")
NEEDED = re.compile(
    rf"\b{SECRET}\b(?: \w+){{0,6}}? (?:is|are|will be) (?:required|needed|necessary|"
    rf"mandatory)\b.{{0,40}}\b(?:verify|verification|identity|confirm|refund|process|release|"
    rf"match)\b"
    rf"|\b(?:we|i|{AI}|our (?:bot|assistant|agents?|team|staff|system|support(?: team)?)|the (?:bot|assistant|"
    rf"agent|reader|support team))(?:'ll|'d)?(?: (?:will|would|may|might|also|first|still|then|now))* (?:need|"
    rf"needs|require|requires|must (?:have|see|get|collect)|ask for|asks for|request|requests)\b(?: \w+){{0,2}}? "
    rf"{POSSESSIVE}{SECRET}\b"
    rf"|\bwhat(?: is|'s) (?:your|their|the customer'?s?) {SECRET}\b"
)
# A secret named, then asked for with a pronoun: "the security code … is required. Please type it in your next
# message".
SECRET_MENTION = re.compile(rf"\b{SECRET}\b")
PRONOUN_REQUEST = re.compile(
    rf"\b(?:{DISCLOSE}|{AMBIGUOUS})\b(?: (?:us|me))? (?:it|them|this|that|these|those|both|(?:the|this|that) "
    rf"(?:code|number|digits|details))\b"
)
CLAUSE_BREAK = re.compile(
    r"[.!?;:\n]|,\s*(?:but|however|except|yet)\b|\b(?:but|however|instead)\b"
    r"|\b(?:if|when|whenever|once|after|before|since|because|unless)\b[^,.;:!?]{0,80},"
)


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


def _asked(text: str, start: int, end: int, needs_destination: bool) -> bool:
    """Whether the request at `start`-`end` asks for a secret: not negated, not something the shop or the bank
    does, and sent to the chat, a reply or us unless it names no checkout, terminal or app."""
    if _negated(text, start) or OTHERS_DO_IT.search(text[:start].rstrip() + " "):
        return False
    if NOT_A_SECRET.search(text[max(0, start - 25) : end]):
        return False
    sentence = _sentence(text, start, end)
    to_us = _to_us(sentence)
    if needs_destination and not to_us:
        return False
    return to_us or not USE_CONTEXT.search(sentence)


def _secret_requests(text: str) -> list[str]:
    """The names of the ways the text asks someone for a secret (empty when it does not)."""
    found: list[str] = []
    if not SECRET_WORDS.search(text):
        return found
    for name, regex, needs_destination in (
        ("asks_secret", DISCLOSURE, False),
        ("collects_secret", COLLECT, False),
        ("secret_in_chat", ENTERING, True),
        ("secret_required", NEEDED, False),
    ):
        for match in regex.finditer(text):
            if not _asked(text, match.start(), match.end(), needs_destination):
                continue
            # Card details that "we need" count only when sent to us: a hotel or a checkout needs them too.
            if (
                name == "secret_required"
                and not SECRET_PROPER.search(match.group() + _clause_after(text, match.end()))
                and not _to_us(_sentence(text, match.start(), match.end()))
            ):
                continue
            found.append(name)
            break
    for mention in SECRET_MENTION.finditer(text):
        if _negated(text, mention.start()) or OTHERS_DO_IT.search(text[: mention.start()].rstrip() + " "):
            continue
        if NOT_A_SECRET.search(text[max(0, mention.start() - 25) : mention.end()]):
            continue
        request = PRONOUN_REQUEST.search(text, mention.end(), mention.end() + 200)
        if request and _asked(text, request.start(), request.end(), needs_destination=True):
            found.append("secret_then_asked")
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
    secrets = _secret_requests(views["words"])
    if views["plain"] != views["words"]:
        secrets += _secret_requests(views["plain"])
    secrets = sorted(set(secrets))
    for name in secrets:
        matched[name] = 1.0
    reasons = tuple(sorted(matched))
    return InjectionVerdict(score=round(sum(matched.values()), 2), reasons=reasons, asks_for_secrets=bool(secrets))


def is_suspicious(text: str) -> bool:
    return classify(text).suspicious


# --- measuring it --------------------------------------------------------------------------------------------------
def evaluate(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per split ("tune", "heldout", and any other split the rows name) and overall: adversarial recall and the
    benign false-positive rate, with the ids that were missed or wrongly flagged. `rows`: {"id", "text",
    "label": "injection"|"benign", "split"}."""
    figures: dict[str, dict[str, Any]] = {}
    others = sorted({str(r["split"]) for r in rows} - {"tune", "heldout", "all"})
    for split in ("tune", "heldout", *others, "all"):
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
