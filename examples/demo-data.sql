-- fa demo data for schema "shop" (see demo-schema.sql).
--
-- Everything is generated server-side with generate_series() and a seeded
-- random(): no external files, same rows on every run.
--
--   customers     10,000
--   products       1,000   (8 categories, tags text[], attrs jsonb)
--   orders       100,000   (spread over the two years before the anchor)
--   order_items ~250,000   (orders.total = sum(qty * unit_price))
--
-- Timestamps are relative to an anchor, by default today 00:00 UTC, so the
-- demo always looks recent. For byte-identical timestamps across days, pin it:
--   PGOPTIONS='-c fa.demo_anchor=2026-01-01' psql -f demo-data.sql
-- Ids, e-mails, names, prices, quantities and totals never depend on it.
--
-- Re-runnable on its own: it empties the tables first. Runs in one transaction.

SET client_encoding = 'UTF8';
SET client_min_messages = warning;

BEGIN;

SET LOCAL synchronize_seqscans = off;   -- keep scan order (and so random()) stable
SET LOCAL work_mem = '64MB';
SET LOCAL TimeZone = 'UTC';              -- day arithmetic independent of the client's zone

TRUNCATE shop.order_items, shop.orders, shop.products, shop.customers RESTART IDENTITY;

CREATE TEMP TABLE demo_params ON COMMIT DROP AS
SELECT coalesce(nullif(current_setting('fa.demo_anchor', true), '')::timestamptz,
                date_trunc('day', now(), 'UTC')) AS anchor;

-- ---------------------------------------------------------------------------
-- products: ids are grouped by category (ranges below)
-- ---------------------------------------------------------------------------
DO $$ BEGIN PERFORM setseed(0.22); END $$;

INSERT INTO shop.products (id, sku, name, category, price, stock, tags, attrs)
WITH
cat (category, code, lo, hi, first_id, last_id, nouns, brands, ctags) AS (VALUES
    ('Books',             'BOO',  6,   60,    1,  200,
        ARRAY['River','Garden','Empire','Winter','Algorithm','Lighthouse','Orchard','Machine','Harbour','Silence'],
        ARRAY['Penrose Press','Blue Owl Books','Northwind Publishing','Kestrel House'],
        ARRAY['fiction','non-fiction','bestseller','classic','paperback','kids']),
    ('Electronics',       'ELE', 12, 1800,  201,  350,
        ARRAY['Headphones','Earbuds','Keyboard','Mouse','Monitor','Speaker','Charger','Webcam','Tablet','Smartwatch'],
        ARRAY['Voltix','Nordic Audio','Pixelon','Arcwave','Kumo'],
        ARRAY['wireless','usb-c','bluetooth','4k','refurbished','gaming']),
    ('Home & Kitchen',    'HOM',  8,  400,  351,  500,
        ARRAY['Kettle','Skillet','Knife Set','Blender','Mug','Cutting Board','Lamp','Throw Blanket','Teapot','Storage Jar'],
        ARRAY['Hearth & Co','Lindqvist','Casa Bonita','Ironleaf'],
        ARRAY['kitchen','decor','dishwasher-safe','handmade','gift','cast-iron']),
    ('Clothing',          'CLO', 10,  250,  501,  650,
        ARRAY['T-Shirt','Hoodie','Jeans','Rain Jacket','Sneakers','Scarf','Wool Socks','Chinos','Beanie','Dress'],
        ARRAY['Fjällrun','Urban Thread','Maison Lune','Kōen'],
        ARRAY['cotton','organic','unisex','winter','summer','waterproof']),
    ('Sports & Outdoors', 'SPO', 10,  700,  651,  750,
        ARRAY['Yoga Mat','Tent','Water Bottle','Backpack','Trail Shoes','Dumbbell','Bike Light','Headlamp','Sleeping Bag','Jump Rope'],
        ARRAY['Peakline','Trailfox','Aqua Sprint','Basecamp'],
        ARRAY['outdoor','camping','fitness','running','cycling','lightweight']),
    ('Toys & Games',      'TOY',  5,  150,  751,  850,
        ARRAY['Puzzle','Building Set','Board Game','Plush Bear','Kite','Train Set','Card Game','Robot Kit','Dollhouse','Marble Run'],
        ARRAY['Playwell','Tiny Giants','Brickly','Meeple & Sons'],
        ARRAY['kids','educational','family','stem','outdoor','collectible']),
    ('Beauty',            'BEA',  4,   95,  851,  925,
        ARRAY['Face Cream','Shampoo','Lip Balm','Serum','Body Lotion','Perfume','Hand Soap','Sunscreen','Face Mask','Conditioner'],
        ARRAY['Lumière','Verdant','Aurora Skin','Solé'],
        ARRAY['vegan','cruelty-free','fragrance-free','spf','sensitive-skin','travel-size']),
    ('Grocery',           'GRO',  2,   45,  926, 1000,
        ARRAY['Coffee Beans','Green Tea','Olive Oil','Dark Chocolate','Granola','Honey','Pasta','Hot Sauce','Maple Syrup','Almonds'],
        ARRAY['Farmhouse','Casa Verde','Nordic Pantry','Golden Hive'],
        ARRAY['organic','gluten-free','fair-trade','vegan','local','gift'])
),
adj AS (
    SELECT ARRAY['Classic','Compact','Deluxe','Essential','Midnight','Nordic','Pro','Quiet',
                 'Rustic','Smart','Sunny','Ultra','Velvet','Wild','Golden','Everyday'] AS a,
           ARRAY['black','white','grey','navy','red','green','sand','teal','orange','pink'] AS colors,
           ARRAY['Ada Byron','Jorge Navarro','Mei Lin','Kofi Mensah','Ingrid Holm',
                 'Lucía Ortega','Tomasz Zieliński','Aiko Mori'] AS authors
),
raw AS (   -- all random() calls happen here, in generate_series order
    SELECT g,
           random() AS r_adj, random() AS r_noun, random() AS r_brand, random() AS r_price,
           random() AS r_stock, random() AS r_t1, random() AS r_t2, random() AS r_t3,
           random() AS r_sale, random() AS r_new, random() AS r_color, random() AS r_a1,
           random() AS r_a2, random() AS r_a3, random() AS r_a4
    FROM generate_series(1, 1000) AS g
),
p AS (
    SELECT raw.*, c.*, adj.*,
           c.nouns[1 + floor(r_noun * 10)::int]                   AS noun,
           c.brands[1 + floor(r_brand * array_length(c.brands, 1))::int] AS brand,
           adj.a[1 + floor(r_adj * array_length(adj.a, 1))::int]  AS adjective,
           adj.colors[1 + floor(r_color * 10)::int]                AS color
    FROM raw
    JOIN cat c ON raw.g BETWEEN c.first_id AND c.last_id
    CROSS JOIN adj
)
SELECT g,
       code || '-' || lpad(g::text, 5, '0'),
       CASE WHEN category = 'Books' THEN 'The ' || adjective || ' ' || noun
            WHEN category IN ('Electronics', 'Sports & Outdoors')
                 THEN brand || ' ' || adjective || ' ' || noun || ' ' || chr(65 + g % 26) || (g % 9 + 1)
            ELSE brand || ' ' || adjective || ' ' || noun END,
       category,
       -- log-uniform-ish between lo and hi, ending in .99 (or .49)
       greatest(lo, floor(lo * power(hi::numeric / lo, power(r_price, 1.6)::numeric)))
         + CASE WHEN g % 7 = 0 THEN 0.49 ELSE 0.99 END,
       CASE WHEN r_stock < 0.05 THEN 0 ELSE floor(power(r_stock, 2) * 500)::int END,
       array_remove(ARRAY[
           CASE WHEN r_t1 < 0.85 THEN ctags[1 + floor(r_t1 / 0.85 * 6)::int] END,
           -- a different category tag: 1..5 places after the first one
           CASE WHEN r_t2 < 0.40 THEN ctags[1 + (floor(r_t1 / 0.85 * 6)::int + 1
                                                 + floor(r_t2 / 0.40 * 5)::int) % 6] END,
           CASE WHEN r_sale < 0.15 THEN 'sale' END,
           CASE WHEN r_new  < 0.10 THEN 'new' END,
           CASE WHEN r_t3   < 0.05 THEN 'limited-edition' END
       ]::text[], NULL),
       jsonb_strip_nulls(
         CASE category
           WHEN 'Books' THEN jsonb_build_object(
               'publisher', brand,
               'author',    authors[1 + floor(r_a1 * 8)::int],
               'pages',     96 + floor(r_a2 * 700)::int,
               'format',    (ARRAY['paperback','hardcover','ebook'])[1 + floor(r_a3 * 3)::int],
               'language',  (ARRAY['en','en','en','de','fr','es'])[1 + floor(r_a4 * 6)::int],
               'isbn',      '978-0-' || lpad((g * 7919 % 100000)::text, 5, '0') || '-' || lpad(g::text, 3, '0') || '-' || (g % 10))
           WHEN 'Electronics' THEN jsonb_build_object(
               'brand',           brand,
               'color',           color,
               'warranty_months', (ARRAY[12, 24, 36])[1 + floor(r_a1 * 3)::int],
               'wireless',        r_a2 < 0.5,
               'battery_mah',     CASE WHEN r_a2 < 0.5 THEN 200 + floor(r_a3 * 50) * 100 END,
               'dimensions_mm',   jsonb_build_object('w', 40 + floor(r_a4 * 400)::int,
                                                     'h', 20 + floor(r_a3 * 300)::int,
                                                     'd', 5 + floor(r_a1 * 80)::int))
           WHEN 'Clothing' THEN jsonb_build_object(
               'brand',    brand,
               'color',    color,
               'material', (ARRAY['cotton','wool','polyester','linen','denim'])[1 + floor(r_a1 * 5)::int],
               'sizes',    to_jsonb((ARRAY['XS','S','M','L','XL','XXL'])[1 + floor(r_a2 * 2)::int : 4 + floor(r_a3 * 3)::int]))
           WHEN 'Home & Kitchen' THEN jsonb_build_object(
               'brand',           brand,
               'color',           color,
               'material',        (ARRAY['steel','cast iron','ceramic','glass','bamboo','oak'])[1 + floor(r_a1 * 6)::int],
               'dishwasher_safe', r_a2 < 0.6)
           WHEN 'Sports & Outdoors' THEN jsonb_build_object(
               'brand',    brand,
               'color',    color,
               'weight_g', 50 + floor(power(r_a1, 2) * 4000)::int,
               'level',    (ARRAY['beginner','intermediate','pro'])[1 + floor(r_a2 * 3)::int])
           WHEN 'Toys & Games' THEN jsonb_build_object(
               'brand',   brand,
               'age_min', (ARRAY[0, 3, 3, 6, 8, 12])[1 + floor(r_a1 * 6)::int],
               'pieces',  CASE WHEN r_a2 < 0.5 THEN (ARRAY[24, 100, 250, 500, 1000])[1 + floor(r_a3 * 5)::int] END,
               'players', CASE WHEN r_a2 >= 0.5 THEN jsonb_build_object('min', 1 + floor(r_a3 * 2)::int, 'max', 4 + floor(r_a4 * 5)::int) END)
           WHEN 'Beauty' THEN jsonb_build_object(
               'brand',     brand,
               'volume_ml', (ARRAY[15, 30, 50, 100, 200, 250, 500])[1 + floor(r_a1 * 7)::int],
               'vegan',     r_a2 < 0.55,
               'scent',     CASE WHEN r_a3 < 0.7 THEN (ARRAY['lavender','citrus','rose','unscented','sandalwood'])[1 + floor(r_a4 * 5)::int] END)
           WHEN 'Grocery' THEN jsonb_build_object(
               'brand',     brand,
               'weight_g',  (ARRAY[100, 250, 500, 750, 1000])[1 + floor(r_a1 * 5)::int],
               'organic',   r_a2 < 0.4,
               'allergens', CASE WHEN r_a3 < 0.5 THEN to_jsonb((ARRAY['nuts','gluten','milk','soy'])[1 + floor(r_a4 * 4)::int : 1 + floor(r_a4 * 4)::int + floor(r_a3 * 4)::int]) END)
         END)
FROM p
ORDER BY g;

DO $$ BEGIN PERFORM setval(pg_get_serial_sequence('shop.products', 'id'), (SELECT max(id) FROM shop.products)); END $$;

-- ---------------------------------------------------------------------------
-- orders and order_items, first into temp tables
--
-- Each order draws 1..5 distinct products: p0, p0+step, p0+2*step, ... (mod
-- 1000) with 1 <= step < 200, so no product repeats within an order; small
-- steps keep a basket within one category. Customers and starting products
-- are skewed (a few are far more popular) and then scattered over the id
-- range with a multiplicative permutation. Order volume grows linearly over
-- the two years: the last day is twice as busy as the first.
-- ---------------------------------------------------------------------------
DO $$ BEGIN PERFORM setseed(0.33); END $$;

CREATE TEMP TABLE demo_orders ON COMMIT DROP AS
WITH raw AS (   -- all random() calls happen here, in generate_series order
    SELECT g,
           random() AS r_cust, random() AS r_when, random() AS r_status, random() AS r_n,
           random() AS r_p0, random() AS r_step, random() AS r_disc,
           ARRAY[random(), random(), random(), random(), random()] AS r_qty
    FROM generate_series(1, 100000) AS g
),
o AS (
    SELECT raw.*,
           -- age as a fraction of 2 years, density proportional to 1 - x/2
           date_trunc('second', prm.anchor - interval '730 days'
                                  * (2 * (1 - sqrt(1 - 0.75 * r_when)))) AS placed_at,
           prm.anchor
    FROM raw CROSS JOIN demo_params prm
)
SELECT g AS id,
       -- customer rank x in [0,1) with density ~ 1/(1 + 30x): the busiest
       -- customers order ~30 times as often as the quietest (many of whom
       -- order once or never); then ranks are scattered over the ids
       1 + (floor(10000 * (power(31, r_cust) - 1) / 30)::int * 7919 + 4242) % 10000 AS customer_id,
       placed_at,
       CASE WHEN anchor - placed_at < interval '2 days'
                 THEN CASE WHEN r_status < 0.4 THEN 'pending' ELSE 'paid' END
            WHEN anchor - placed_at < interval '6 days'
                 THEN CASE WHEN r_status < 0.1 THEN 'paid'
                           WHEN r_status < 0.97 THEN 'shipped'
                           ELSE 'cancelled' END
            WHEN r_status < 0.90 THEN 'delivered'
            WHEN r_status < 0.96 THEN 'cancelled'
            ELSE 'refunded' END AS status,
       CASE WHEN r_n < 0.30 THEN 1 WHEN r_n < 0.55 THEN 2 WHEN r_n < 0.75 THEN 3
            WHEN r_n < 0.90 THEN 4 ELSE 5 END AS n_items,
       (floor(1000 * power(r_p0, 1.4))::int * 383 + 611) % 1000 AS p0,
       1 + floor(power(r_step, 3) * 199)::int AS step,
       -- order-wide discount: 80% none, else 5/10/15/20 %
       CASE WHEN r_disc < 0.80 THEN 0
            ELSE (1 + floor((r_disc - 0.80) / 0.05))::int * 5 END AS discount_pct,
       r_qty
FROM o;

CREATE TEMP TABLE demo_items ON COMMIT DROP AS
SELECT o.id AS order_id,
       p.id AS product_id,
       CASE WHEN o.r_qty[k] < 0.75 THEN 1 WHEN o.r_qty[k] < 0.92 THEN 2
            WHEN o.r_qty[k] < 0.98 THEN 3
            ELSE 4 + floor((o.r_qty[k] - 0.98) * 350)::int END AS qty,   -- 4..10
       round(p.price * (100 - o.discount_pct) / 100, 2)::numeric(10,2) AS unit_price
FROM demo_orders o
CROSS JOIN LATERAL generate_series(1, o.n_items) AS k
JOIN shop.products p ON p.id = 1 + (o.p0 + (k - 1) * o.step) % 1000;

-- ---------------------------------------------------------------------------
-- customers: 8 hand-picked rows, then 9..10000 generated. A customer signs
-- up at a random time in the last three years, or shortly before their first
-- order if that is earlier.
-- ---------------------------------------------------------------------------
DO $$ BEGIN PERFORM setseed(0.11); END $$;

CREATE TEMP TABLE demo_first_order ON COMMIT DROP AS
SELECT customer_id, min(placed_at) AS first_at
FROM demo_orders
GROUP BY customer_id;

INSERT INTO shop.customers (id, email, name, country, created_at)
SELECT v.id, v.email, v.name, v.country,
       least((SELECT anchor FROM demo_params) - make_interval(days => v.age_days),
             f.first_at - interval '3 days')
FROM (VALUES
    (1, 'zoe.angstrom@example.com',     'Zoë Ångström',      'SE', 1090),
    (2, 'jose.nunez@example.com',       'José Núñez',        'ES', 1001),
    (3, 'wang.fang@example.net',        '王芳',              'CN',  950),
    (4, 'ada@example.org',              'Ada Lovelace',      'GB',  900),
    (5, 'soren.kierkegaard@example.org', 'Søren Kierkegaard', 'DK',  845),
    (6, 'francois.lefevre@example.net', 'François Lefèvre',  'FR',  700),
    (7, 'lukasz.wojcik@example.com',    'Łukasz Wójcik',     'PL',  640),
    (8, 'siobhan.obrien@example.org',   'Siobhán O''Brien',  'IE',  365)
) AS v (id, email, name, country, age_days)
LEFT JOIN demo_first_order f ON f.customer_id = v.id
ORDER BY v.id;

INSERT INTO shop.customers (id, email, name, country, created_at)
WITH
names AS (
    -- display names and the ASCII form used in e-mail addresses
    SELECT ARRAY['James','Mary','Robert','Patricia','John','Jennifer','Michael','Linda',
                 'David','Elizabeth','William','Susan','Thomas','Sarah','Daniel','Karen',
                 'Emma','Olivia','Liam','Noah','Sofia','Lucas','Mia','Hugo',
                 'Elias','Anna','Mateo','Carlos','Ingrid','Priya','Arjun','Yuki',
                 'Kenji','Amara','Kwame','Fatima','Omar','Agnieszka','Lars','Aisha'] AS fn,
           ARRAY['Chloé','Zoë','José','André','Léa','Björn','Søren','Łukasz',
                 'Siobhán','Renée','Inés','Jürgen'] AS fnx,
           ARRAY['chloe','zoe','jose','andre','lea','bjorn','soren','lukasz',
                 'siobhan','renee','ines','juergen'] AS fsx,
           ARRAY['Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis',
                 'Rodriguez','Martinez','Lopez','Wilson','Anderson','Taylor','Moore','Martin',
                 'Jackson','Lee','Schmidt','Schneider','Fischer','Weber','Dubois','Moreau',
                 'Rossi','Russo','Ferrari','Silva','Santos','Oliveira','Nowak','Kowalski',
                 'Jansen','de Vries','Andersson','Johansson','Nielsen','Sato','Suzuki','Tanaka',
                 'Patel','Sharma','Singh','Kim','Park','Nguyen','O''Brien','Murphy',
                 'Kelly','Papadopoulos'] AS ln,
           ARRAY['Müller','Lefèvre','Núñez','Peña','Wójcik','Ångström','Østergaard','Çelik',
                 'Dvořák','Şahin'] AS lnx,
           ARRAY['mueller','lefevre','nunez','pena','wojcik','angstrom','ostergaard','celik',
                 'dvorak','sahin'] AS lsx,
           -- whole names written in other scripts, with their transliteration
           ARRAY['王芳','李娜','张伟','刘洋','陈静','佐藤 健','田中 美咲','김민준',
                 'Ελένη Παπαδοπούλου','Дмитрий Иванов'] AS xn,
           ARRAY['wang.fang','li.na','zhang.wei','liu.yang','chen.jing','sato.ken',
                 'tanaka.misaki','kim.minjun','eleni.papadopoulou','dmitry.ivanov'] AS xs,
           ARRAY['CN','CN','CN','CN','CN','JP','JP','KR','GR','RU'] AS xc,
           -- weighted: repeated codes are more common
           ARRAY['US','US','US','US','US','US','GB','GB','GB','DE','DE','DE','FR','FR',
                 'ES','ES','IT','NL','SE','DK','PL','IE','CA','CA','AU','BR','BR','MX',
                 'IN','IN','JP','KR','CN','ZA','NG','NZ'] AS cc,
           ARRAY['example.com','example.com','example.com','example.org','example.net',
                 'mail.example','inbox.example'] AS dom
),
raw AS (   -- all random() calls happen here, in generate_series order
    SELECT g,
           random() AS r_first, random() AS r_last, random() AS r_script,
           random() AS r_fmt,   random() AS r_dom,  random() AS r_cc,
           random() AS r_null,  random() AS r_age,  random() AS r_sec,
           random() AS r_lead
    FROM generate_series(9, 10000) AS g
),
picked AS (
    SELECT raw.*, n.*,
           -- 8% accented first names, 8% accented last names, 2% other scripts
           CASE WHEN r_first < 0.08
                THEN fnx[1 + floor(r_first / 0.08 * array_length(fnx, 1))::int]
                ELSE fn[1 + floor((r_first - 0.08) / 0.92 * array_length(fn, 1))::int] END AS first,
           CASE WHEN r_first < 0.08
                THEN fsx[1 + floor(r_first / 0.08 * array_length(fsx, 1))::int]
                ELSE lower(fn[1 + floor((r_first - 0.08) / 0.92 * array_length(fn, 1))::int]) END AS first_slug,
           CASE WHEN r_last < 0.08
                THEN lnx[1 + floor(r_last / 0.08 * array_length(lnx, 1))::int]
                ELSE ln[1 + floor((r_last - 0.08) / 0.92 * array_length(ln, 1))::int] END AS last,
           CASE WHEN r_last < 0.08
                THEN lsx[1 + floor(r_last / 0.08 * array_length(lsx, 1))::int]
                ELSE regexp_replace(lower(ln[1 + floor((r_last - 0.08) / 0.92 * array_length(ln, 1))::int]),
                                    '[^a-z]', '', 'g') END AS last_slug,
           1 + floor(r_script * 500)::int AS xi   -- 1..10 => other script
    FROM raw CROSS JOIN names n
)
SELECT g,
       CASE WHEN xi <= 10 THEN xs[xi] ELSE first_slug || '.' || last_slug END
         || CASE WHEN r_fmt < 0.5 THEN '.' ELSE '' END || g::text
         || '@' || dom[1 + floor(r_dom * array_length(dom, 1))::int],
       CASE WHEN r_null < 0.004 THEN NULL
            WHEN xi <= 10 THEN xn[xi]
            ELSE first || ' ' || last END,
       CASE WHEN r_null BETWEEN 0.004 AND 0.02 THEN NULL
            WHEN xi <= 10 THEN xc[xi]
            ELSE cc[1 + floor(r_cc * array_length(cc, 1))::int] END,
       -- more sign-ups recently (age fraction 1 - sqrt(u) has density 2(1-x)),
       -- and never after the first order
       least((SELECT anchor FROM demo_params)
               - make_interval(days => floor(1095 * (1 - sqrt(r_age)))::int,
                               secs => floor(r_sec * 86400)),
             f.first_at - make_interval(secs => floor(60 + power(r_lead, 2) * 45 * 86400)))
FROM picked
LEFT JOIN demo_first_order f ON f.customer_id = picked.g
ORDER BY g;

DO $$ BEGIN PERFORM setval(pg_get_serial_sequence('shop.customers', 'id'), (SELECT max(id) FROM shop.customers)); END $$;

-- ---------------------------------------------------------------------------
-- load orders (total = sum of its items) and order_items
-- ---------------------------------------------------------------------------
-- 100,000 orders are history, not news: no notification for each
ALTER TABLE shop.orders DISABLE TRIGGER orders_announce;
INSERT INTO shop.orders (id, customer_id, status, placed_at, total)
SELECT o.id, o.customer_id, o.status, o.placed_at, t.total
FROM demo_orders o
JOIN (SELECT order_id, sum(qty * unit_price) AS total FROM demo_items GROUP BY order_id) t
  ON t.order_id = o.id
ORDER BY o.id;

ALTER TABLE shop.orders ENABLE TRIGGER orders_announce;

DO $$ BEGIN PERFORM setval(pg_get_serial_sequence('shop.orders', 'id'), (SELECT max(id) FROM shop.orders)); END $$;

INSERT INTO shop.order_items (order_id, product_id, qty, unit_price)
SELECT order_id, product_id, qty, unit_price
FROM demo_items
ORDER BY order_id, product_id;

COMMIT;

ANALYZE shop.customers, shop.products, shop.orders, shop.order_items;
