-- Templates are data, not code: editors can add more without a deploy.
INSERT INTO content_templates (id, kind, title, body) VALUES
  ('daily-momentum', 'daily', 'Momentum for {{name}}',
   'With the Sun in {{sign}}, {{name}} carries the momentum of its founding into today. Teams in {{industry}} around {{location}} should favour decisions that compound: ship the small thing, then the next.'),
  ('daily-focus', 'daily', 'A day for focus at {{name}}',
   'Today asks {{name}} to narrow its focus. {{sign}} businesses thrive when they finish before they start; in {{industry}}, one closed deal is worth three open conversations.'),
  ('daily-partnerships', 'daily', 'Partnerships favour {{name}}',
   'Relationships are the theme for {{name}} today. A {{sign}} company in {{location}} gains most by listening to partners and customers before pitching to them.'),
  ('daily-caution', 'daily', 'Measure twice at {{name}}',
   'A careful day for {{name}}. {{sign}} energy rewards reviews, audits and second opinions; in {{industry}}, a delayed commitment beats a hasty one.'),
  ('daily-growth', 'daily', 'Room to grow for {{name}}',
   'Expansion is written into the chart of {{name}} today. As a {{sign}} business in {{industry}}, test a new channel, a new market or a new price, and keep what works.'),
  ('monthly-overview', 'monthly', '{{month}} outlook for {{name}}',
   'The month of {{month}} opens with {{sign}} themes for {{name}}: steady execution in {{industry}} and attention to the people around {{location}}. Plan the big moves for the second half of the month.'),
  ('monthly-strategy', 'monthly', 'Strategy notes for {{name}}, {{month}}',
   'For {{name}}, {{month}} is a month to revisit strategy. {{sign}} founders do best when they prune: drop one project that no longer pays, and invest the time in the one that does.')
ON CONFLICT (id) DO NOTHING;
