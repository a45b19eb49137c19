#define BOOST_TEST_MODULE client_unit
#include <boost/test/unit_test.hpp>
