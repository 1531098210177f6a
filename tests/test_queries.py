"""Pages cost a fixed, small number of SQL queries however much they show."""

from __future__ import annotations

from tests.helpers.queries import queries_for


def test_board_page_costs_the_same_for_3_or_30_topics(app, client, make, auth):
    small, large = make.board("small"), make.board("large")
    authors = [make.user(f"author{n}") for n in range(10)]
    for n in range(3):
        make.topic(authors[n], small, title=f"s{n}")
    for n in range(30):
        make.topic(authors[n % 10], large, title=f"l{n}")
    auth.login(make.user("reader"))
    small_cost = queries_for(app, client, "/b/small")
    large_cost = queries_for(app, client, "/b/large")
    # The member, the board, its topics, the count of unread notices in the menu,
    # what of this page the member follows and their blocks and mutes (one query).
    assert len(small_cost) == len(large_cost) <= 6, large_cost


def test_topic_page_costs_the_same_for_2_or_20_posts(app, client, make, auth):
    board = make.board()
    authors = [make.user(f"author{n}") for n in range(10)]
    short = make.topic(authors[0], board)
    make.reply(authors[1], short)
    long = make.topic(authors[0], board)
    for n in range(19):
        make.reply(authors[n % 10], long, f"reply {n}")
    auth.login(make.user("reader"))
    short_cost = queries_for(app, client, f"/t/{short.id}")
    long_cost = queries_for(app, client, f"/t/{long.id}")
    # ... plus the topic, its length, its page of posts, the reader's own waiting posts,
    # whether they follow the topic, the reactions they sent on the page and their
    # blocks and mutes (one query).
    assert len(short_cost) == len(long_cost) <= 9, long_cost


def test_board_list_costs_the_same_for_any_number_of_boards(app, client, make):
    make.board("one")
    few = len(queries_for(app, client, "/"))
    for n in range(10):
        make.board(f"board-{n}")
    assert len(queries_for(app, client, "/")) == few <= 2
