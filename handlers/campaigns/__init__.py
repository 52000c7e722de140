"""Care campaigns for admins in Telegram, and the planner job's work.

Commands (admins only; other staff and everyone else are refused)::

    /campaign new <occasion> [audience] [YYYY-MM-DD] [HH:MM]
    /campaign new text [audience] <YYYY-MM-DD> [HH:MM] <message>
    /campaign edit <id> [audience] [YYYY-MM-DD] [HH:MM] [<occasion> | text <message>]
    /campaign preview <id> [customer id]
    /campaign approve <id>  ·  /campaign cancel <id>  ·  /campaign status <id>
    /campaigns

- ``commands``: the commands, reading their options, and registration;
- ``card``: a campaign's card in the staff group (what it says in each language, to
  whom, when, where it stands), posted, remembered and edited after each change;
- ``buttons``: the card's Approve / Edit / Cancel ("cp:approve:<id>", …); Edit says how
  to edit, since an edit is typed;
- ``words``: labels and sentences, among them why a campaign is refused;
- ``planner``: the planner job's work (``bot.jobs`` runs it): greetings and follow-ups
  planned, campaigns drafted for upcoming occasions and their cards posted.

Work happens in one transaction through ``care.campaigns`` and
``care.campaign_requests``; the card in the staff group is edited after it commits.
``/followups`` lives beside follow-ups, in ``handlers.followups``.
"""
