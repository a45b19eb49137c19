// The link handshake: mutual HMAC challenge-response, refusals with reasons, roles, timeouts.
#include <boost/test/unit_test.hpp>

#include "tests/unit/link/link_test_support.hpp"

namespace troupe::link::test {
namespace {

connection_facts dial(std::uint64_t peer, std::uint8_t nonce_seed = 1) {
  return connection_facts{handshake_side::dialer, peer, false, make_nonce(nonce_seed)};
}

connection_facts accept(bool loopback = false, std::uint8_t nonce_seed = 2) {
  return connection_facts{handshake_side::acceptor, 0, loopback, make_nonce(nonce_seed)};
}

handshake_config client_config(std::uint64_t client_id, std::shared_ptr<const secret> s) {
  handshake_config c;
  c.cluster_id = "test-cluster";
  c.self_id = client_id;
  c.incarnation = 77;
  c.self_role = peer_role::client;
  c.client_secret = std::move(s);
  return c;
}

void require_refused(const handshake_run& run, close_reason reason, bool acceptor_refuses) {
  BOOST_TEST(!run.dialer_outcome.has_value());
  BOOST_TEST(!run.acceptor_outcome.has_value());
  BOOST_REQUIRE(run.dialer_failure.has_value());
  BOOST_REQUIRE(run.acceptor_failure.has_value());
  BOOST_TEST(to_string(run.dialer_failure->reason) == to_string(reason));
  BOOST_TEST(to_string(run.acceptor_failure->reason) == to_string(reason));
  BOOST_TEST(run.acceptor_failure->by_remote == !acceptor_refuses);
  BOOST_TEST(run.dialer_failure->by_remote == acceptor_refuses);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(handshake_tests)

BOOST_AUTO_TEST_CASE(
    two_nodes_with_the_same_secret_authenticate_each_other_and_exchange_resume_points) {
  auto dialer_cfg = node_config(1, 1001);
  dialer_cfg.resume = [](peer_role r, std::uint64_t id) {
    BOOST_TEST((r == peer_role::peer && id == 2));
    return resume_info{2002, 17};
  };
  auto acceptor_cfg = node_config(2, 2002);
  acceptor_cfg.resume = [](peer_role r, std::uint64_t id) {
    BOOST_TEST((r == peer_role::peer && id == 1));
    return resume_info{1001, 5};
  };
  handshake d(dialer_cfg, dial(2));
  handshake a(acceptor_cfg, accept());
  auto run = run_handshake(d, a);
  BOOST_REQUIRE(run.dialer_outcome.has_value());
  BOOST_REQUIRE(run.acceptor_outcome.has_value());
  BOOST_TEST(!run.dialer_failure.has_value());
  BOOST_TEST(!run.acceptor_failure.has_value());
  BOOST_TEST(run.frames == 4);  // hello, challenge, auth, welcome
  BOOST_TEST(run.dialer_outcome->remote_id == 2u);
  BOOST_TEST(run.dialer_outcome->remote_incarnation == 2002u);
  BOOST_TEST((run.dialer_outcome->remote_resume == resume_info{1001, 5}));
  BOOST_TEST(run.acceptor_outcome->remote_id == 1u);
  BOOST_TEST(run.acceptor_outcome->remote_incarnation == 1001u);
  BOOST_TEST((run.acceptor_outcome->remote_resume == resume_info{2002, 17}));
  BOOST_TEST(run.acceptor_outcome->version == wire::protocol_version_max);
  BOOST_TEST(run.dialer_outcome->authenticated);
  BOOST_TEST(d.finished());
  BOOST_TEST(a.finished());
}

BOOST_AUTO_TEST_CASE(a_client_with_the_client_secret_authenticates_from_anywhere) {
  auto client_secret = make_secret("client-secret-abcdefghij");
  auto node = node_config(2, 2002);
  node.client_secret = client_secret;
  handshake c(client_config(4242, client_secret), dial(0));
  handshake a(node, accept(/*loopback=*/false));
  auto run = run_handshake(c, a);
  BOOST_REQUIRE(run.dialer_outcome.has_value());
  BOOST_REQUIRE(run.acceptor_outcome.has_value());
  BOOST_TEST(run.acceptor_outcome->remote_role == peer_role::client);
  BOOST_TEST(run.acceptor_outcome->remote_id == 4242u);
  BOOST_TEST(run.acceptor_outcome->authenticated);
  BOOST_TEST(run.dialer_outcome->remote_id == 2u);
}

BOOST_AUTO_TEST_CASE(a_client_with_the_cluster_secret_instead_of_the_client_secret_is_refused) {
  auto node = node_config(2, 2002);
  node.client_secret = make_secret("client-secret-abcdefghij");
  handshake c(client_config(4242, make_secret("cluster-secret-0123456789")), dial(0));
  handshake a(node, accept(true));
  require_refused(run_handshake(c, a), close_reason::bad_proof, true);
}

BOOST_AUTO_TEST_CASE(a_node_without_client_secret_serves_loopback_clients_without_proofs) {
  handshake c(client_config(4242, nullptr), dial(0));
  handshake a(node_config(2, 2002), accept(/*loopback=*/true));
  auto run = run_handshake(c, a);
  BOOST_REQUIRE(run.acceptor_outcome.has_value());
  BOOST_REQUIRE(run.dialer_outcome.has_value());
  BOOST_TEST(!run.acceptor_outcome->authenticated);
  BOOST_TEST(!run.dialer_outcome->authenticated);
}

BOOST_AUTO_TEST_CASE(a_node_without_client_secret_refuses_clients_from_other_addresses) {
  handshake c(client_config(4242, nullptr), dial(0));
  handshake a(node_config(2, 2002), accept(/*loopback=*/false));
  require_refused(run_handshake(c, a), close_reason::client_not_allowed, true);
}

BOOST_AUTO_TEST_CASE(a_node_at_its_client_bound_refuses_a_proven_client_with_too_many_clients) {
  auto node = node_config(2, 2002);
  node.client_secret = make_secret("client-secret-abcdefghij");
  int asked = 0;
  node.admit_client = [&asked] {
    ++asked;
    return false;
  };
  handshake c(client_config(4242, make_secret("client-secret-abcdefghij")), dial(0));
  handshake a(node, accept(false));
  require_refused(run_handshake(c, a), close_reason::too_many_clients, true);
  BOOST_TEST(asked == 1);
}

BOOST_AUTO_TEST_CASE(the_client_bound_is_told_only_to_a_client_that_proved_itself_and_never_to_peers) {
  auto node = node_config(2, 2002);
  node.client_secret = make_secret("client-secret-abcdefghij");
  node.admit_client = [] { return false; };
  // A wrong secret is refused for what it is; the node's load is none of its business.
  handshake wrong(client_config(4242, make_secret("not-the-client-secret")), dial(0));
  handshake a1(node, accept(false));
  require_refused(run_handshake(wrong, a1), close_reason::bad_proof, true);
  // A peer is not a client: the bound does not apply.
  handshake peer(node_config(1, 1001), dial(2));
  handshake a2(node, accept(false));
  auto run = run_handshake(peer, a2);
  BOOST_TEST(run.dialer_outcome.has_value());
  BOOST_TEST(run.acceptor_outcome.has_value());
}

BOOST_AUTO_TEST_CASE(a_client_holding_a_secret_refuses_a_node_that_offers_no_proof) {
  handshake c(client_config(4242, make_secret("client-secret-abcdefghij")), dial(0));
  handshake a(node_config(2, 2002), accept(/*loopback=*/true));
  require_refused(run_handshake(c, a), close_reason::unauthenticated_peer, false);
}

BOOST_AUTO_TEST_CASE(
    a_dialer_with_the_wrong_secret_is_refused_before_the_acceptor_proves_anything) {
  handshake d(node_config(1, 1001, "wrong-secret-wrong-secret"), dial(2));
  handshake a(node_config(2, 2002), accept());
  auto run = run_handshake(d, a);
  require_refused(run, close_reason::bad_proof, true);
  BOOST_TEST(run.frames == 4);  // hello, challenge, auth, refuse: no welcome, no acceptor proof
}

BOOST_AUTO_TEST_CASE(an_acceptor_with_the_wrong_secret_is_refused) {
  handshake d(node_config(1, 1001), dial(2));
  handshake a(node_config(2, 2002, "wrong-secret-wrong-secret"), accept());
  // The acceptor cannot verify the dialer's proof with its secret, so it refuses first.
  require_refused(run_handshake(d, a), close_reason::bad_proof, true);
}

BOOST_AUTO_TEST_CASE(a_dialer_refuses_a_welcome_whose_proof_does_not_verify) {
  // An impostor acceptor that knows the protocol but not the secret answers with a made-up proof.
  handshake d(node_config(1, 1001), dial(2));
  const auto now = std::chrono::nanoseconds(5);
  auto hello = d.start(now);
  BOOST_REQUIRE(hello.to_write.size() == 1u);
  auto auth = d.on_frame(over_the_wire(challenge_frame{1, 2, make_nonce(9), 2002, true}), now);
  BOOST_REQUIRE(auth.to_write.size() == 1u);
  welcome_frame forged;
  forged.acceptor_proof.fill(0xab);
  auto step = d.on_frame(over_the_wire(forged), now);
  BOOST_TEST(!step.outcome.has_value());
  BOOST_REQUIRE(step.failure.has_value());
  BOOST_TEST(step.failure->reason == close_reason::bad_proof);
  BOOST_REQUIRE(step.to_write.size() == 1u);
  BOOST_TEST(std::holds_alternative<refuse_frame>(step.to_write.front()));
}

BOOST_AUTO_TEST_CASE(a_reflected_acceptor_proof_does_not_authenticate_a_dialer) {
  // The attacker has no secret. It dials node 2 claiming to be node 1 and answers the challenge
  // with a proof made for the other direction over the very same transcript (as if reflected from
  // a session where node 2 proved itself). It must not verify.
  auto cfg = node_config(2, 2002);
  handshake a(cfg, accept(false, 2));
  const auto now = std::chrono::nanoseconds(5);
  (void)a.start(now);
  hello_frame h{
      wire::supported_versions, "test-cluster", peer_role::peer, 1, 2, make_nonce(1), 1001};
  auto challenge_step = a.on_frame(over_the_wire(h), now);
  BOOST_REQUIRE(challenge_step.to_write.size() == 1u);
  const auto& c = std::get<challenge_frame>(challenge_step.to_write.front());

  proof_transcript t;
  t.cluster_id = "test-cluster";
  t.dialer_role = peer_role::peer;
  t.dialer_id = 1;
  t.acceptor_id = 2;
  t.dialer_incarnation = 1001;
  t.acceptor_incarnation = 2002;
  t.dialer_nonce = make_nonce(1);
  t.acceptor_nonce = c.acceptor_nonce;
  t.version = c.version;
  const proof reflected = compute_proof(*cfg.node_secret, proof_direction::acceptor_to_dialer, t);
  // Sanity: the honest proof for this transcript does verify, so the refusal below is about the
  // direction only.
  BOOST_TEST(verify_proof(*cfg.node_secret, proof_direction::dialer_to_acceptor, t,
                          compute_proof(*cfg.node_secret, proof_direction::dialer_to_acceptor, t)));
  BOOST_TEST(!verify_proof(*cfg.node_secret, proof_direction::dialer_to_acceptor, t, reflected));

  auto step = a.on_frame(over_the_wire(auth_frame{reflected, {}}), now);
  BOOST_TEST(!step.outcome.has_value());
  BOOST_REQUIRE(step.failure.has_value());
  BOOST_TEST(step.failure->reason == close_reason::bad_proof);
  for (const auto& f : step.to_write) BOOST_TEST(!std::holds_alternative<welcome_frame>(f));
}

BOOST_AUTO_TEST_CASE(a_proof_is_bound_to_both_node_ids_and_both_nonces) {
  auto s = make_secret("cluster-secret-0123456789");
  proof_transcript t;
  t.cluster_id = "c";
  t.dialer_id = 1;
  t.acceptor_id = 2;
  t.dialer_nonce = make_nonce(1);
  t.acceptor_nonce = make_nonce(2);
  t.version = 1;
  const proof p = compute_proof(*s, proof_direction::dialer_to_acceptor, t);
  auto swapped_ids = t;
  std::swap(swapped_ids.dialer_id, swapped_ids.acceptor_id);
  auto swapped_nonces = t;
  std::swap(swapped_nonces.dialer_nonce, swapped_nonces.acceptor_nonce);
  auto other_cluster = t;
  other_cluster.cluster_id = "d";
  BOOST_TEST(verify_proof(*s, proof_direction::dialer_to_acceptor, t, p));
  BOOST_TEST(!verify_proof(*s, proof_direction::dialer_to_acceptor, swapped_ids, p));
  BOOST_TEST(!verify_proof(*s, proof_direction::dialer_to_acceptor, swapped_nonces, p));
  BOOST_TEST(!verify_proof(*s, proof_direction::dialer_to_acceptor, other_cluster, p));
}

BOOST_AUTO_TEST_CASE(a_dialer_from_another_cluster_is_refused) {
  auto dialer_cfg = node_config(1, 1001);
  dialer_cfg.cluster_id = "other-cluster";
  handshake d(dialer_cfg, dial(2));
  handshake a(node_config(2, 2002), accept());
  auto run = run_handshake(d, a);
  require_refused(run, close_reason::wrong_cluster, true);
  BOOST_TEST(run.frames == 2);  // hello, refuse
}

BOOST_AUTO_TEST_CASE(a_node_id_outside_the_peer_set_is_refused) {
  handshake d(node_config(9, 9009), dial(2));
  handshake a(node_config(2, 2002), accept());
  require_refused(run_handshake(d, a), close_reason::unknown_node, true);
}

BOOST_AUTO_TEST_CASE(a_peer_claiming_the_acceptors_own_id_is_refused) {
  handshake d(node_config(2, 9009), dial(2));
  handshake a(node_config(2, 2002), accept());
  require_refused(run_handshake(d, a), close_reason::duplicate_node, true);
}

BOOST_AUTO_TEST_CASE(a_dialer_reaching_a_different_node_than_it_meant_is_refused) {
  handshake d(node_config(1, 1001), dial(3));
  handshake a(node_config(2, 2002), accept());
  require_refused(run_handshake(d, a), close_reason::wrong_node, true);
}

BOOST_AUTO_TEST_CASE(version_ranges_without_overlap_are_refused) {
  auto dialer_cfg = node_config(1, 1001);
  dialer_cfg.versions = {wire::protocol_version_max + 1, wire::protocol_version_max + 3};
  handshake d(dialer_cfg, dial(2));
  handshake a(node_config(2, 2002), accept());
  require_refused(run_handshake(d, a), close_reason::incompatible_version, true);
}

BOOST_AUTO_TEST_CASE(the_highest_common_version_is_chosen) {
  auto dialer_cfg = node_config(1, 1001);
  dialer_cfg.versions = {1, 5};
  auto acceptor_cfg = node_config(2, 2002);
  acceptor_cfg.versions = {1, 3};
  handshake d(dialer_cfg, dial(2));
  handshake a(acceptor_cfg, accept());
  auto run = run_handshake(d, a);
  BOOST_REQUIRE(run.dialer_outcome.has_value());
  BOOST_TEST(run.dialer_outcome->version == 3);
  BOOST_TEST(run.acceptor_outcome->version == 3);
}

BOOST_AUTO_TEST_CASE(a_handshake_that_does_not_finish_in_time_fails_with_a_refusal) {
  auto cfg = node_config(2, 2002);
  cfg.timeout = std::chrono::seconds(5);
  handshake a(cfg, accept());
  const auto t0 = std::chrono::nanoseconds(1'000);
  (void)a.start(t0);
  auto early = a.on_tick(t0 + std::chrono::seconds(5) - std::chrono::nanoseconds(1));
  BOOST_TEST(!early.failure.has_value());
  auto late = a.on_tick(t0 + std::chrono::seconds(5));
  BOOST_REQUIRE(late.failure.has_value());
  BOOST_TEST(late.failure->reason == close_reason::handshake_timeout);
  BOOST_REQUIRE(late.to_write.size() == 1u);
  BOOST_TEST(std::get<refuse_frame>(late.to_write.front()).reason ==
             close_reason::handshake_timeout);
  BOOST_TEST(a.finished());
  BOOST_TEST(a.on_frame(hello_frame{}, t0).to_write.empty());  // finished: inputs are ignored
}

BOOST_AUTO_TEST_CASE(a_data_frame_before_the_handshake_finishes_is_a_protocol_error) {
  handshake a(node_config(2, 2002), accept());
  (void)a.start(std::chrono::nanoseconds(0));
  auto step =
      a.on_frame(data_frame{lane::application, 1, 0, false, "x", "y"}, std::chrono::nanoseconds(1));
  BOOST_REQUIRE(step.failure.has_value());
  BOOST_TEST(step.failure->reason == close_reason::protocol_error);
  BOOST_TEST(!step.outcome.has_value());
}

BOOST_AUTO_TEST_CASE(an_invalid_config_fails_the_handshake_at_start_instead_of_crashing) {
  auto cfg = node_config(1, 1001);
  cfg.node_secret = nullptr;
  BOOST_TEST(!cfg.validate().ok());
  handshake d(cfg, dial(2));
  auto step = d.start(std::chrono::nanoseconds(0));
  BOOST_REQUIRE(step.failure.has_value());
  BOOST_TEST(step.failure->reason == close_reason::protocol_error);
}

BOOST_AUTO_TEST_CASE(secrets_are_trimmed_and_bounded) {
  auto ok = secret::from_file_contents(std::string_view("0123456789abcdef\n"));
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->bytes().size() == 16u);
  auto short_one = secret::from_file_contents(std::string_view("zq9xk\n"));
  BOOST_REQUIRE(!short_one.ok());
  BOOST_TEST(short_one.err().code == errc::invalid_argument);
  BOOST_TEST(short_one.err().message.find("zq9xk") == std::string::npos);  // never the contents
  BOOST_TEST(!secret::from_file_contents(std::string(5000, 'x')).ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace troupe::link::test
