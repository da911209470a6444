-- Run once by the postgres image on an empty volume (/docker-entrypoint-initdb.d):
-- the main database (templates, email directory) and the 4 shard databases the app's
-- DATABASE_URL and SHARD_DATABASE_URLS name. The app migrates them at start.
CREATE DATABASE corp_astro;
CREATE DATABASE corp_astro_0;
CREATE DATABASE corp_astro_1;
CREATE DATABASE corp_astro_2;
CREATE DATABASE corp_astro_3;
